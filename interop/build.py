"""Builds the registry's environments (venvs, npm ci, go build), skipping what is up to date."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .registry import Environment

REPO = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 900  # seconds for one build command (a cold npm ci or go build downloads)


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


def build_environment(env: Environment, build_dir: Path) -> BuildResult:
    started = time.perf_counter()
    stamp = build_dir / "stamps" / f"{env.name}.sha256"
    fingerprint = _fingerprint(env)
    outputs_exist = all((REPO / p).exists() for p in fill(env.outputs, build_dir))
    if env.inputs and outputs_exist and stamp.is_file() and stamp.read_text() == fingerprint:
        return BuildResult(env.name, True, True, time.perf_counter() - started)
    for words in env.build:
        cmd = fill(words, build_dir)
        try:
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
        except FileNotFoundError:
            return BuildResult(env.name, False, False, time.perf_counter() - started,
                               f"command not found: {cmd[0]} (needed to build environment {env.name!r})")
        except subprocess.TimeoutExpired as expired:
            return BuildResult(env.name, False, False, time.perf_counter() - started,
                               f"$ {' '.join(cmd)}\ntimed out after {BUILD_TIMEOUT} s\n{expired.stdout or ''}{expired.stderr or ''}")
        if proc.returncode != 0:
            return BuildResult(env.name, False, False, time.perf_counter() - started,
                               f"$ {' '.join(cmd)}\nexit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    return BuildResult(env.name, True, False, time.perf_counter() - started)


def _fingerprint(env: Environment) -> str:
    digest = hashlib.sha256(repr(env.build).encode())
    for pattern in env.inputs:
        for path in sorted(REPO.glob(pattern)):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
