"""Builds the registry's environments (venvs, npm ci, go build), skipping what is up to date."""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .paths import REPO
from .process import run
from .registry import Client, Environment, Registry

BUILD_TIMEOUT = 900  # seconds for one build command (a cold npm ci or go build downloads)
FAILURE_LINES = 60  # of each output, in a failed build's message


@dataclass
class BuildResult:
    environment: str
    ok: bool
    cached: bool
    seconds: float
    failure: str = ""


def fill(words: list[str], build_dir: Path) -> list[str]:
    """Replace {build} and {python} in a registry command."""
    return [w.replace("{build}", str(build_dir)).replace("{python}", sys.executable) for w in words]


def build_for(clients: list[Client], registry: Registry, build_dir: Path) -> dict[str, BuildResult]:
    """{environment: result} for every environment `clients` run in, each reported on one line."""
    built = {}
    for name in sorted({c.environment for c in clients}):
        result = built[name] = build_environment(registry.environments[name], build_dir)
        state = "up to date" if result.cached else ("built" if result.ok else "FAILED")
        print(f"build {name}: {state} ({result.seconds:.1f} s)", flush=True)
    return built


def build_environment(env: Environment, build_dir: Path) -> BuildResult:
    started = time.perf_counter()
    stamp = build_dir / "stamps" / f"{env.name}.sha256"
    fingerprint = _fingerprint(env)
    outputs_exist = all((REPO / p).exists() for p in fill(env.outputs, build_dir))
    if env.inputs and outputs_exist and stamp.is_file() and stamp.read_text() == fingerprint:
        return BuildResult(env.name, True, True, time.perf_counter() - started)
    for words in env.build:
        done = run(fill(words, build_dir), REPO, BUILD_TIMEOUT)
        if not done.ok:
            return BuildResult(env.name, False, False, time.perf_counter() - started, done.describe(FAILURE_LINES))
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    return BuildResult(env.name, True, False, time.perf_counter() - started)


def _fingerprint(env: Environment) -> str:
    digest = hashlib.sha256(repr(env.build).encode())
    for pattern in env.inputs:
        for path in sorted(REPO.glob(pattern)):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
