"""Runs one example program as the client contract says: input from ILP_* variables, bounded in time."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .build import REPO, fill
from .registry import Client


@dataclass
class RunResult:
    cmd: list[str]
    exit_code: int | None  # None: killed by the timeout
    stdout: str
    stderr: str
    seconds: float
    timeout: float

    def describe(self) -> str:
        status = f"killed after {self.timeout:.0f} s (timeout)" if self.exit_code is None else f"exit {self.exit_code}"
        return (f"$ {' '.join(self.cmd)}\n{status} after {self.seconds:.1f} s\n"
                f"stdout:\n{_tail(self.stdout)}\nstderr:\n{_tail(self.stderr)}")


EXAMPLE_TIMEOUT_S = 10.0  # ILP_TIMEOUT_S of the matrix runs: the contract's default


def run_example(client: Client, build_dir: Path, host: str, port: int, key: Path, connections: int,
                timeout: float, example_timeout: float = EXAMPLE_TIMEOUT_S) -> RunResult:
    """Run `client` once, as CLIENTS.md says; `timeout` bounds the whole process, `example_timeout`
    (ILP_TIMEOUT_S) each of its waits."""
    cmd = fill(client.run, build_dir)
    env = {name: value for name, value in os.environ.items() if not name.startswith("ILP_")}
    env.update(ILP_HOST=host, ILP_PORT=str(port), ILP_KEY=str(key), ILP_ROWS=str(client.rows_path),
               ILP_CONNECTIONS=str(connections), ILP_TIMEOUT_S=f"{example_timeout:g}",
               ILP_PROTOCOL_VERSION=str(client.protocol_version))
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as expired:
        code, out, err = None, _text(expired.stdout), _text(expired.stderr)
    except FileNotFoundError as missing:
        code, out, err = 127, "", f"cannot run {cmd[0]}: {missing}"
    return RunResult(cmd, code, out, err, time.perf_counter() - started, timeout)


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def _tail(text: str, lines: int = 20) -> str:
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) if kept else "(empty)"
