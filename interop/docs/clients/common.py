"""What every language's preparation shares: the Prepared result, a reader's command, the error's key line.

Each language module (python, javascript, go, ...) has a `prepare_*` that works in its own temp folder and
returns a Prepared: a command to run once, or the verdict FAILS TO INSTALL / FAILS TO BUILD with the
evidence (the command and the error's key line).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ...process import Finished
from ...process import run as run_process

INSTALL_TIMEOUT = 600


@dataclass
class Prepared:
    command: list[str] | None  # None when it could not be installed or built
    cwd: Path
    verdict: str | None = None  # "FAILS TO INSTALL" / "FAILS TO BUILD" when command is None
    detail: str = ""  # one line: what failed and the error's key line
    evidence: str = ""
    versions: dict = field(default_factory=dict)  # dependency -> version used
    notes: list[str] = field(default_factory=list)
    env: dict = field(default_factory=dict)
    skipped_scripts: list[str] = field(default_factory=list)  # packages installed with their install scripts off


def run(cmd: list[str], cwd: Path, timeout: float, env: dict | None = None) -> Finished:
    """A reader's command: this process's environment, plus `env`."""
    return run_process(cmd, cwd, timeout, dict(os.environ, **(env or {})))


def evidence(finished: Finished) -> str:
    """The command and how it ended, with its error's key line."""
    return f"{finished.command_line}\n{finished.status}: {key_line(output(finished))}"


def output(finished: Finished) -> str:
    """What a failed command said: its stderr, or its stdout when stderr is empty."""
    return finished.stderr or finished.stdout


_NOISE = re.compile(r"^\s*$|A complete log of this run|^npm (error|ERR!) (code|path|command|errno|syscall)\b|"
                    r"gyp ERR! (cwd|node -v|node-gyp -v|System|command)|npm warn|^\s*at |^Traceback")


def key_line(output: str) -> str:
    """The line of an error output that says what went wrong (the last meaningful one, usually)."""
    lines = [line.strip() for line in output.splitlines() if not _NOISE.search(line)]
    for marker in ("Error:", "error:", "Error ", "ERR!", "cannot", "not found", "403", "fatal"):
        hits = [line for line in lines if marker in line]
        if hits:
            return hits[-1][:300]
    return lines[-1][:300] if lines else "(no output)"


def failed(prepared: Prepared, verdict: str, finished: Finished, step: str) -> Prepared:
    prepared.command = None
    prepared.verdict = verdict
    prepared.detail = f"{step}: {key_line(output(finished))}"
    prepared.evidence = evidence(finished) + "\n" + "\n".join(output(finished).strip().splitlines()[-12:])
    return prepared
