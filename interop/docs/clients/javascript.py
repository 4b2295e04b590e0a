"""JavaScript and TypeScript snippets: npm install what they require or import (newest versions, or the
pins), with install scripts off unless asked, then node runs them in the module system they were
written for.

Module systems (_module_system): a snippet with import/export runs as an ES module (snippet.mjs), one
with only require as CommonJS (snippet.js). Code that CommonJS cannot parse but an ES module can (a
top-level await: node --check fails on it as a .cjs and passes as a .mjs) runs as an ES module too. An
ES module that uses require, __filename or __dirname (mixed import and require, or CommonJS with a
top-level await) runs the way a reader makes it run: those names are defined from
module.createRequire and import.meta.url, prepended to its first line so that the line numbers in
errors stay the snippet's; a name the snippet declares itself is left alone. A note of the Prepared
says so. (Node 20 alone would reparse such a .js file as a module and fail on `require`.)

Installs: a page's code is untrusted, so `npm install --ignore-scripts` always comes first, and
Prepared.skipped_scripts lists the installed packages that declare an install script (preinstall,
install, postinstall, or a binding.gyp that npm would build). With scripts=True (the runner's second
attempt, only when the first fails and that list is not empty) npm runs them.

TypeScript (typescript=True): typescript.py strips the types first; the JavaScript left goes the
same way.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ...paths import DOCS_SHIMS
from ..data import dependencies
from .common import INSTALL_TIMEOUT, Prepared, run
from .common import failed as _failed
from .typescript import install_stripper, strip_types, stripper_version

_SPECIFIER = re.compile(r"""\brequire\(\s*["']([^"']+)["']\s*\)"""  # require("x")
                        r"""|\bimport\(\s*["']([^"']+)["']\s*\)"""  # import("x")
                        r"""|^\s*import\s*["']([^"']+)["']"""  # import "x"
                        r"""|^\s*(?:import|export)\s[^;"'`]*?\bfrom\s*["']([^"']+)["']""",  # import/export ... from "x"
                        re.MULTILINE)
_ESM = re.compile(r"""^\s*(?:import(?:\s+[\w$]|\s*[{*"'])|export\s)|\bimport\.meta\b""", re.MULTILINE)
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")
# What an ES module lacks of CommonJS, by name: how a snippet uses it, and its definition from
# import.meta.url, prepended to the first line of a snippet that uses it without declaring it.
_COMMONJS_NAMES = {
    "require": (r"\brequire\s*\(", ('import { createRequire as __docsCreateRequire } from "node:module"; '
                "const require = __docsCreateRequire(import.meta.url); ")),
    "__filename": (r"\b__filename\b", ('import { fileURLToPath as __docsPath } from "node:url"; '
                   "const __filename = __docsPath(import.meta.url); ")),
    "__dirname": (r"\b__dirname\b", ('import { fileURLToPath as __docsDir } from "node:url"; '
                  "const __dirname = __docsDir(new URL('.', import.meta.url)); ")),
}
PROBE_TIMEOUT = 30
VIEW_TIMEOUT = 120


def javascript_dependencies(code: str) -> list[str]:
    """npm packages a snippet requires or imports, in order of appearance (node: built-ins and
    relative paths excluded)."""
    builtins = set(json.loads(run(["node", "-p", "JSON.stringify(require('module').builtinModules)"],
                                  Path.cwd(), 30).stdout or "[]"))
    packages = []
    for match in _SPECIFIER.finditer(code):
        spec = next(group for group in match.groups() if group)
        if spec.startswith(("node:", ".", "/")) or spec in builtins:
            continue
        name = "/".join(spec.split("/")[:2]) if spec.startswith("@") else spec.split("/")[0]
        if name not in packages:
            packages.append(name)
    return packages


def prepare_javascript(code: str, workdir: Path, replace_failing: bool = False, typescript: bool = False,
                       pins: dict | None = None, scripts: bool = False, tools: Path | None = None) -> Prepared:
    """The snippet's packages installed in workdir and the node command that runs it once.

    replace_failing: the declared shims of dependencies.toml instead of the packages that have one.
    typescript: `code` is TypeScript; its types are stripped first (a syntax error: FAILS TO BUILD).
    pins: {package: version or any npm spec (file:..., a tarball)}; the others are the newest.
    scripts: let npm run install scripts (the default: --ignore-scripts, and skipped_scripts says whose).
    tools: where the TypeScript stripper is installed once (default build/docs/tools)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "package.json").write_text('{"private": true}\n')
    prepared = Prepared(["node", "snippet.js"], workdir)
    if typescript:
        code = _stripped(code, workdir, tools, prepared)
        if code is None:
            return prepared
    system = _module_system(code, workdir)
    script = workdir / ("snippet.js" if system == "commonjs" else "snippet.mjs")
    missing = _commonjs_names_missing(code) if system == "esm" else []
    if missing:
        code = "".join(_COMMONJS_NAMES[name][1] for name in missing) + code
        prepared.notes.append(f"run as an ES module (it has import/export or a top-level await), with "
                              f"{', '.join(missing)} defined from module.createRequire / import.meta.url on its "
                              "first line, as a reader makes CommonJS code run as a module")
    elif system == "esm" and not _ESM.search(code):
        prepared.notes.append("run as an ES module: a top-level await, which CommonJS cannot parse")
    script.write_text(code, encoding="utf-8")
    prepared.command = ["node", script.name]
    return _install(javascript_dependencies(code), prepared, replace_failing, pins or {}, scripts)


def _stripped(code: str, workdir: Path, tools: Path | None, prepared: Prepared) -> str | None:
    """The snippet's JavaScript, or None with the Prepared failed (FAILS TO INSTALL / FAILS TO BUILD)."""
    source, target = workdir / "snippet.ts", workdir / "snippet.stripped.js"
    source.write_text(code, encoding="utf-8")
    stripper, failed_install = install_stripper(tools)
    if stripper is None:
        _failed(prepared, "FAILS TO INSTALL", failed_install, "npm install typescript (the type stripper)")
        return None
    stripped = strip_types(stripper, source, target)
    if not stripped.ok:
        _failed(prepared, "FAILS TO BUILD", stripped, "stripping the TypeScript types")
        first = next((line for line in stripped.stderr.splitlines() if ": error TS" in line), None)
        if first:  # the first syntax error, where the reader's stripper stops too
            prepared.detail = f"stripping the TypeScript types: {first.strip()[:300]}"
        return None
    prepared.notes.append(f"TypeScript: types stripped by typescript {stripper_version()} "
                          "transpileModule (no type check, as tsx or ts-node --transpile-only), then run by node")
    return target.read_text(encoding="utf-8")


def is_es_module(code: str) -> bool:
    """Whether the snippet's own text makes it an ES module (import/export, import.meta)."""
    return bool(_ESM.search(code))


def _module_system(code: str, workdir: Path) -> str:
    """"esm" (import/export, or syntax only an ES module parses, such as a top-level await) or "commonjs"."""
    if _ESM.search(code):
        return "esm"
    probe = workdir / ".probe"
    probe.mkdir(exist_ok=True)
    try:
        (probe / "snippet.cjs").write_text(code, encoding="utf-8")
        (probe / "snippet.mjs").write_text(code, encoding="utf-8")
        as_commonjs = run(["node", "--check", "snippet.cjs"], probe, PROBE_TIMEOUT)
        module_only = not as_commonjs.ok and run(["node", "--check", "snippet.mjs"], probe, PROBE_TIMEOUT).ok
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return "esm" if module_only else "commonjs"


def _commonjs_names_missing(code: str) -> list[str]:
    """CommonJS's names (require, __filename, __dirname) that the code uses without declaring them."""
    return [name for name, (used, _definition) in _COMMONJS_NAMES.items()
            if re.search(used, code) and not re.search(rf"\b(?:const|let|var|function|class)\s+{name}\b", code)]


def _install(packages: list[str], prepared: Prepared, replace_failing: bool, pins: dict, scripts: bool) -> Prepared:
    workdir = prepared.cwd
    replacements = dependencies()["javascript"]["replacements"]
    shimmed = [p for p in packages if replace_failing and p in replacements]
    to_install = [p for p in packages if p not in shimmed]
    specs = [f"{p}@{pins[p]}" if p in pins else p for p in to_install]
    if specs:
        flags = [] if scripts else ["--ignore-scripts"]
        done = run(["npm", "install", *flags, "--no-audit", "--no-fund", *specs], workdir, INSTALL_TIMEOUT)
        if not done.ok:
            return _failed(prepared, "FAILS TO INSTALL", done, f"npm install {' '.join(specs)}")
    for package in to_install:
        manifest = workdir / "node_modules" / package / "package.json"
        prepared.versions[package] = json.loads(manifest.read_text())["version"]
    for package in shimmed:
        shutil.copytree(DOCS_SHIMS / replacements[package]["shim"], workdir / "node_modules" / package)
        prepared.versions[package] = "replaced: " + replacements[package]["label"]
    scripted = packages_with_install_scripts(workdir) if specs else []
    if scripts and scripted:
        prepared.notes.append(f"installed with their install scripts run: {', '.join(scripted)}")
    elif scripted:
        prepared.skipped_scripts = scripted
        prepared.notes.append(f"installed with --ignore-scripts: the install scripts of {', '.join(scripted)} "
                              "did not run (a second attempt runs them if this one fails)")
    return prepared


def packages_with_install_scripts(workdir: Path) -> list[str]:
    """The packages installed in workdir/node_modules (nested ones too) that declare an install script:
    preinstall, install or postinstall, or a binding.gyp (which npm builds with node-gyp). Sorted."""
    modules = workdir / "node_modules"
    lock = modules / ".package-lock.json"  # npm's record of what it installed, one entry per package folder
    if lock.is_file():
        folders = [workdir / key for key in json.loads(lock.read_text())["packages"] if key]
    else:
        folders = [p for p in modules.glob("*") if not p.name.startswith(("@", "."))] + list(modules.glob("@*/*"))
    found = set()
    for folder in folders:
        manifest = folder / "package.json"
        if not manifest.is_file():
            continue
        declared = json.loads(manifest.read_text())
        if any(name in declared.get("scripts", {}) for name in _INSTALL_SCRIPTS) or (folder / "binding.gyp").is_file():
            found.add(declared.get("name") or folder.name)
    return sorted(found)


def javascript_older_majors(package: str, newest: str) -> list[str]:
    """The newest release of each major below `newest`'s, newest first, as `npm view PACKAGE versions
    --json` lists them (pre-releases left out); [] when npm cannot say."""
    viewed = run(["npm", "view", package, "versions", "--json"], Path.cwd(), VIEW_TIMEOUT)
    try:
        versions = json.loads(viewed.stdout) if viewed.ok else []
    except json.JSONDecodeError:
        return []
    if isinstance(versions, str):  # a package with a single version
        versions = [versions]
    releases = [tuple(map(int, v.split("."))) for v in versions if re.fullmatch(r"\d+\.\d+\.\d+", v)]
    newest_major = int(newest.split(".")[0])
    by_major: dict[int, tuple] = {}
    for release in releases:
        if release[0] < newest_major:
            by_major[release[0]] = max(by_major.get(release[0], release), release)
    return [".".join(map(str, by_major[m])) for m in sorted(by_major, reverse=True)]


def javascript_replacement(packages_failed: str) -> str | None:
    """The label of the declared replacement for a failed install, if there is one."""
    for package, spec in dependencies()["javascript"]["replacements"].items():
        if package in packages_failed:
            return spec["label"]
    return None
