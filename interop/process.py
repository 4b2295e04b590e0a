"""Every external command the harness runs to completion (builds, examples, snippets, installs, tools):
bounded in time, in its own process group, described the same way in every failure message.

A command runs in a new session, so that on timeout the whole group goes (SIGKILL): an npm or a
`go run` wrapper never leaves its child running, nor holding the output pipes open. Its stdin is
/dev/null: nothing the harness runs may wait for input. Output is decoded leniently (a tool's bytes
are evidence, not a reason to fail).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DRAIN_TIMEOUT = 5.0  # after the group is killed: reading what it wrote before
TAIL_LINES = 20


@dataclass
class Finished:
    """One run of a command."""

    cmd: list[str]
    exit_code: int | None  # None: killed by the timeout
    stdout: str
    stderr: str
    seconds: float
    timeout: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def command_line(self) -> str:
        return "$ " + " ".join(map(str, self.cmd))

    @property
    def status(self) -> str:
        """`exit N`, or `killed after N s (timeout)`."""
        return f"killed after {round(self.timeout, 1):g} s (timeout)" if self.exit_code is None else f"exit {self.exit_code}"

    def describe(self, lines: int = TAIL_LINES) -> str:
        """For a failure message: the command, how it ended, and the tails of its output."""
        return (f"{self.command_line}\n{self.status} after {self.seconds:.1f} s\n"
                f"stdout:\n{tail(self.stdout, lines)}\nstderr:\n{tail(self.stderr, lines)}")


def run(cmd: list[str], cwd: Path | str | None, timeout: float, env: dict[str, str] | None = None,
        umask: int = -1, started: Callable[[int], None] | None = None) -> Finished:
    """Run `cmd` to its end or for `timeout` seconds, then kill its process group. `env` is the whole
    environment (None: this process's); `umask` the child's (-1: this process's); `started` hears the
    child's pid once it runs. A command that cannot be started exits 127, as in a shell."""
    began = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, umask=umask)
    except OSError as error:
        return Finished(cmd, 127, "", f"cannot run {cmd[0]}: {error}", time.perf_counter() - began, timeout)
    if started is not None:
        started(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        out, err = _kill_group(proc)
        code = None
    return Finished(cmd, code, _text(out), _text(err), time.perf_counter() - began, timeout)


def _kill_group(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the whole group is gone already
    try:
        return proc.communicate(timeout=DRAIN_TIMEOUT)
    except subprocess.TimeoutExpired:  # a descendant left the group and holds the pipes: give up the output
        proc.kill()
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
        proc.wait()
        return b"", b""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) if kept else "(empty)"
