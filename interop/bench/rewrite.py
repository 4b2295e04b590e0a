"""Text rows/s before and after the grammar rewrite, side by side in one run.

The parser before it (one module that imports only the standard library) is read from git,
`git show cc2f424:server_stub/src/server_stub/ilp.py`, written to a temporary directory and imported
as the module `ilp_before_rewrite`; the parser after it is server_stub.ilp as installed. Both are fed
the rows part's text payload (rows.py) by feed.race. Before anything is measured, both must parse
its first write to the same rows.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from server_stub.ilp import IlpStream

from ..paths import REPO
from ..process import run
from . import feed
from .rows import build_payload

REVISION = "cc2f424"  # the last commit with the single-module parser
PATH = "server_stub/src/server_stub/ilp.py"
MODULE = "ilp_before_rewrite"
BEFORE, AFTER = "before", "after"
GIT_TIMEOUT = 30.0


class RevisionUnavailable(RuntimeError):
    pass


def measure(rows: int = feed.ROWS, repeats: int = feed.REPEATS) -> dict:
    old = load_before()
    payload = build_payload(rows)
    before, after = old.IlpStream().feed(payload.chunks[0]), IlpStream().feed(payload.chunks[0])
    if before != after:
        raise RuntimeError(f"the parsers before and after the rewrite read the text rows differently: "
                           f"{str(before)[:200]} against {str(after)[:200]}")
    figures = feed.race({BEFORE: (old.IlpStream, payload), AFTER: (IlpStream, payload)}, repeats)
    return {"rows": rows, "repeats": repeats, "revision": REVISION, "source": f"{REVISION}:{PATH}", "parsers": figures}


def load_before(revision: str = REVISION, path: str = PATH, name: str = MODULE) -> ModuleType:
    """The module at `path` in `revision` of this repository, imported as `name`."""
    done = run(["git", "-C", str(REPO), "show", f"{revision}:{path}"], None, GIT_TIMEOUT)
    if done.exit_code == 127:
        raise RevisionUnavailable(f"git is not available ({done.stderr.strip()}); the parser before the rewrite "
                                  f"is read with `git show {revision}:{path}`")
    if not done.ok:
        raise RevisionUnavailable(f"`git show {revision}:{path}` failed ({done.status}: {done.stderr.strip()}); "
                                  f"the parser before the rewrite needs revision {revision} in {REPO} "
                                  "(a shallow clone? `git fetch --unshallow`)")
    with tempfile.TemporaryDirectory(prefix="bench-ilp-") as directory:
        file = Path(directory) / f"{name}.py"
        file.write_text(done.stdout, "utf-8")
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return module
