"""Go snippets: go mod init, go mod tidy (newest versions), go build."""

from __future__ import annotations

import re
from pathlib import Path

from ...process import Finished
from ..data import dependencies
from .common import INSTALL_TIMEOUT, Prepared, key_line, run
from .common import failed as _failed

_GO_IMPORT = re.compile(r'"([a-z0-9.-]+\.[a-z]{2,}/[^"\s]+)"')


def prepare_go(code: str, workdir: Path) -> Prepared:
    """go mod init + go mod tidy (newest versions) + go build, in workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.go").write_text(code, encoding="utf-8")
    prepared = Prepared(["./snippet"], workdir, env={"GOFLAGS": "-mod=mod"})
    if not (workdir / "go.mod").exists():
        init = run(["go", "mod", "init", "snippet"], workdir, 60)
        if not init.ok:
            return _failed(prepared, "FAILS TO INSTALL", init, "go mod init")
    tidy = run(["go", "mod", "tidy"], workdir, INSTALL_TIMEOUT)
    if not tidy.ok:
        pinned = _pin_refused_modules(code, workdir, tidy)
        if not pinned:
            return _failed(prepared, "FAILS TO INSTALL", tidy, "go mod tidy")
        prepared.notes.append(f"go mod tidy could not list the newest version ({key_line(tidy.stderr)}); "
                              f"used the declared {', '.join(pinned)} (dependencies.toml)")
        tidy = run(["go", "mod", "tidy"], workdir, INSTALL_TIMEOUT)
        if not tidy.ok:
            return _failed(prepared, "FAILS TO INSTALL", tidy, "go mod tidy")
    build = run(["go", "build", "-o", "snippet", "."], workdir, INSTALL_TIMEOUT)
    if not build.ok:
        return _failed(prepared, "FAILS TO BUILD", build, "go build")
    prepared.versions = _go_direct_requirements(workdir)
    return prepared


def _pin_refused_modules(code: str, workdir: Path, tidy: Finished) -> list[str]:
    pinned = []
    for module, version in dependencies()["go"]["versions"].items():
        imported = any(_in_module(path, module) for path in _GO_IMPORT.findall(code))
        refused = imported and re.search(re.escape(module) + r"(?!/v\d)(?=[@:\s\"]|$)", tidy.stderr, re.MULTILINE)
        if refused and run(["go", "mod", "edit", f"-require={module}@{version}"], workdir, 60).ok:
            pinned.append(f"{module}@{version}")
    return pinned


def _in_module(path: str, module: str) -> bool:
    """Whether an import path belongs to the module: itself or below it, except a major-version suffix
    (github.com/questdb/go-questdb-client/v4 is another module than github.com/questdb/go-questdb-client)."""
    if path == module:
        return True
    return path.startswith(module + "/") and not re.match(r"v\d+(?:/|$)", path[len(module) + 1:])


def _go_direct_requirements(workdir: Path) -> dict:
    text = (workdir / "go.mod").read_text()
    return dict(re.findall(r"^\s*(?:require\s+)?(\S+\.\S+/\S+)\s+(v\S+)\s*$", text, re.MULTILINE))
