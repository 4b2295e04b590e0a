"""Time to verdict: the wall seconds a developer waits for each verdict, stated beside targets.toml
[times] (figures.py makes the ratios: measured / target, met when at most 1; never asserted).

- warm interop (bench.json `interop`; --skip-interop): `python -m interop --build-dir BUILD` from this
  tree, with the build folder already built (a first run on a new machine builds it: then this figure is
  not warm, and its `builds` say which environments were built rather than up to date);
- cold interop (`interop_cold`; --skip-cold): `git clone` of this repository's HEAD into a temporary
  folder, then `python -m interop --build-dir EMPTY` from the clone, with GOCACHE pointed at an empty
  temporary folder (Go's build cache is a build output). The package registries' caches stay as they
  are (KEPT_CACHES: downloads, not build outputs). The clone's own server_stub is imported (PYTHONPATH
  before the bench's editable install), so the whole run is HEAD's; uncommitted changes are not in it;
- warm docs check (`docs_warm`; --skip-docs): `python -m interop.docs --build-dir BUILD` over
  the docs check's own default pages (beside the repository), run once to warm its caches (snippet venvs, npm,
  go), then timed. Without pages there the figure is an error saying so: the docs check itself would
  pass with nothing checked.

Every command runs with sys.executable (the bench's interpreter), in its own process group, bounded by
its timeout, its output kept in a log beside bench.json. A verdict is the runner's closing summary line
(`interop: N passed, N failed`, `docs: N passed, N failed, N skipped`); a failing one is still a verdict:
its seconds count, and its exit code and output tails are in the figure. A timeout, or a run that ended
without its summary line (a crash, a data file that does not load), reached no verdict: the figure keeps
its exit code and tails and is an error.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from ..paths import REPO
from ..process import Finished, run, tail

INTEROP_TIMEOUT = 600.0
COLD_TIMEOUT = 900.0  # venvs, npm ci, go build, cargo build --release and mvn package from nothing
DOCS_TIMEOUT = 900.0  # each of the two docs runs
CLONE_TIMEOUT = 300.0
KEPT_CACHES = ("pip", "npm", "the Go module cache (GOMODCACHE)", "cargo's registry", "~/.m2")
# the runners' closing lines: `interop: N passed, N failed ...`, `docs: N passed, N failed, N skipped`
_SUMMARY = re.compile(r"^(?:interop|docs): \d+ passed, \d+ failed.*$", re.MULTILINE)
_BUILD = re.compile(r"^build (\S+): (up to date|built|FAILED) ", re.MULTILINE)  # interop/build.py's lines


def interop_warm(args, out: Path) -> dict:
    cmd = [sys.executable, "-m", "interop", "--build-dir", str(args.build_dir.resolve()), *args.interop_arg]
    return _announce("interop", timed(cmd, REPO, args.interop_timeout, out / "interop.log"))


def interop_cold(args, out: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as temporary:
        folder = Path(temporary)
        clone, build, gocache = folder / "repo", folder / "build", folder / "gocache"
        gocache.mkdir()
        cloned = run(["git", "clone", "--quiet", str(REPO), str(clone)], None, CLONE_TIMEOUT)
        if not cloned.ok:
            return {"error": f"`git clone {REPO}` failed: {cloned.status}", **_tails(cloned)}
        commit = run(["git", "-C", str(clone), "rev-parse", "HEAD"], None, 30).stdout.strip()
        env = {**os.environ, "GOCACHE": str(gocache),
               "PYTHONPATH": os.pathsep.join([str(clone), str(clone / "server_stub" / "src")])}
        cmd = [sys.executable, "-m", "interop", "--build-dir", str(build), *args.interop_arg]
        figures = timed(cmd, clone, args.cold_timeout, out / "interop-cold.log", env)
    figures.update(commit=commit, clone_seconds=round(cloned.seconds, 1),
                   cold=f"a git clone of HEAD, an empty --build-dir and an empty GOCACHE (Go's build cache is a "
                        f"build output), both temporary; kept as they were: {', '.join(KEPT_CACHES)} "
                        f"(package caches, not build outputs)")
    return _announce("interop cold", figures)


def docs_warm(args, out: Path) -> dict:
    # The docs check's own default pages (beside the repository, or under $ILP_SHARED_DIR).
    from ..docs.main import _shared_folder, _shared_pages

    pages = _shared_pages()
    if not pages:
        return {"error": f"no pages in {_shared_folder()}: nothing for the docs check to time", "pages": []}
    cmd = [sys.executable, "-m", "interop.docs", "--build-dir", str(args.build_dir.resolve())]
    warmup = timed(cmd, REPO, args.docs_timeout, out / "docs-warmup.log")
    shown = {"pages": [page.name for page in pages]}
    if warmup["exit_code"] is None:  # a second run would time out too
        return {**warmup, **shown, "error": f"the warm-up run: {warmup['error']}"}
    figures = timed(cmd, REPO, args.docs_timeout, out / "docs.log")
    # a warm-up that reached no verdict may have warmed little: its seconds and exit code say so
    figures.update(shown, warmup={k: warmup[k] for k in ("seconds", "exit_code", "summary")})
    return _announce("docs warm", figures)


def timed(cmd: list[str], cwd: Path, timeout: float, log: Path, env: dict | None = None) -> dict:
    """One run of `cmd`: wall seconds, exit code, its closing summary line, which environments it built;
    the tails of its output when it failed; an "error" when it reached no verdict (no summary line, or
    not finished within `timeout`)."""
    done = run(cmd, cwd, timeout, env)  # its own process group: the stubs and examples it started go too
    log.write_text(done.stdout + done.stderr, "utf-8")
    summaries = _SUMMARY.findall(done.stdout)
    figures = {"seconds": round(done.seconds, 1), "exit_code": done.exit_code,
               "summary": summaries[-1] if summaries else None, "command": " ".join(["python", *cmd[1:]]),
               "log": str(log), "timeout": timeout}
    builds = dict(_BUILD.findall(done.stdout))
    if builds:
        figures["builds"] = builds
    if not done.ok:
        figures.update(_tails(done))
    if done.exit_code is None:
        figures["error"] = f"`{figures['command']}` did not finish within {timeout:g} s (log: {log})"
    elif figures["summary"] is None:
        figures["error"] = (f"`{figures['command']}` ended ({done.status}) without its summary line: no verdict "
                            f"(log: {log})")
    return figures


def _tails(done: Finished) -> dict:
    return {"stdout_tail": tail(done.stdout), "stderr_tail": tail(done.stderr)}


def _announce(name: str, figures: dict) -> dict:
    if not figures.get("error"):
        print(f"{name}: {figures['seconds']:.1f} s wall, exit {figures['exit_code']} ({figures['summary']})",
              flush=True)
    return figures
