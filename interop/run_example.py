"""Runs one example program as the client contract says: input from ILP_* variables, bounded in time."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .build import REPO, fill


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


def run_example(run: list[str], build_dir: Path, host: str, port: int, key: Path, rows: Path,
                connections: int, timeout: float) -> RunResult:
    cmd = fill(run, build_dir)
    env = dict(os.environ, ILP_HOST=host, ILP_PORT=str(port), ILP_KEY=str(key), ILP_ROWS=str(rows),
               ILP_CONNECTIONS=str(connections))
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
