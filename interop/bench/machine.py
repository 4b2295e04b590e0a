"""What a run was measured on: the machine and its tools, and the commit (figures move with both)."""

from __future__ import annotations

import os
import platform
import re

from server_stub.loops import default_loop

from ..paths import REPO
from ..process import run
from ..questdb.launcher import pinned


def describe() -> dict:
    """Cores, Python, platform, java, the pinned QuestDB version (the QuestDB part replaces it with the
    version that ran) and the stub's event loop."""
    found = re.search(r'version "([^"]+)"', run(["java", "-version"], None, 30).stderr)
    java = found.group(1) if found else None
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "java": java, "questdb": pinned()["version"], "stub_loop": default_loop()}


def git_state() -> dict:
    """The commit measured, and whether the stub's source differs from it (figures move with the stub)."""
    def git(*args: str) -> str | None:
        done = run(["git", "-C", str(REPO), *args], None, 30)
        return done.stdout.strip() if done.ok else None

    status = git("status", "--porcelain", "--", "server_stub/src")
    return {"commit": git("rev-parse", "HEAD"), "stub_source_modified": None if status is None else bool(status)}
