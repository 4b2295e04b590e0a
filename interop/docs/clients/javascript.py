"""JavaScript snippets: npm install what they require or import (newest versions), then node runs them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ...paths import DOCS_SHIMS
from ..data import dependencies
from .common import INSTALL_TIMEOUT, Prepared, run
from .common import failed as _failed

_REQUIRE = re.compile(r"""require\(\s*["']([^"']+)["']\s*\)|^\s*import\s[^;]*?from\s+["']([^"']+)["']""", re.MULTILINE)
_ESM = re.compile(r"^\s*(import|export)\s", re.MULTILINE)


def javascript_dependencies(code: str) -> list[str]:
    """npm packages a snippet requires or imports (node: built-ins and relative paths excluded)."""
    builtins = set(json.loads(run(["node", "-p", "JSON.stringify(require('module').builtinModules)"],
                                  Path.cwd(), 30).stdout or "[]"))
    packages = []
    for match in _REQUIRE.finditer(code):
        spec = match.group(1) or match.group(2)
        if spec.startswith(("node:", ".", "/")) or spec in builtins:
            continue
        name = "/".join(spec.split("/")[:2]) if spec.startswith("@") else spec.split("/")[0]
        if name not in packages:
            packages.append(name)
    return packages


def prepare_javascript(code: str, workdir: Path, replace_failing: bool = False) -> Prepared:
    """npm install what the snippet requires (newest versions); with replace_failing, use the
    declared shims of dependencies.toml instead of the packages that cannot be installed."""
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / ("snippet.mjs" if _ESM.search(code) else "snippet.js")
    script.write_text(code, encoding="utf-8")
    (workdir / "package.json").write_text('{"private": true}\n')
    prepared = Prepared(["node", script.name], workdir)
    packages = javascript_dependencies(code)
    replacements = dependencies()["javascript"]["replacements"]
    shimmed = [p for p in packages if replace_failing and p in replacements]
    to_install = [p for p in packages if p not in shimmed]
    if to_install:
        done = run(["npm", "install", "--no-audit", "--no-fund", *to_install], workdir, INSTALL_TIMEOUT)
        if not done.ok:
            return _failed(prepared, "FAILS TO INSTALL", done, f"npm install {' '.join(to_install)}")
    for package in to_install:
        manifest = workdir / "node_modules" / package / "package.json"
        prepared.versions[package] = json.loads(manifest.read_text())["version"]
    for package in shimmed:
        shutil.copytree(DOCS_SHIMS / replacements[package]["shim"], workdir / "node_modules" / package)
        prepared.versions[package] = "replaced: " + replacements[package]["label"]
    return prepared


def javascript_replacement(packages_failed: str) -> str | None:
    """The label of the declared replacement for a failed install, if there is one."""
    for package, spec in dependencies()["javascript"]["replacements"].items():
        if package in packages_failed:
            return spec["label"]
    return None
