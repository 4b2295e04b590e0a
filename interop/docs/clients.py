"""Client snippets: install their dependencies the way a reader would, build them, give a command.

Each `prepare_*` works in its own temp folder and returns a Prepared: a command to run once, or the
verdict FAILS TO INSTALL / FAILS TO BUILD with the evidence (the command and the error's key line).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import DOCS_SHIMS
from ..process import Finished
from ..process import run as run_process
from .data import dependencies

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


# --- JavaScript ---------------------------------------------------------------------------------

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


# --- Go -----------------------------------------------------------------------------------------

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
        imported = any(path == module or path.startswith(module + "/") for path in _GO_IMPORT.findall(code))
        refused = imported and module in tidy.stderr
        if refused and run(["go", "mod", "edit", f"-require={module}@{version}"], workdir, 60).ok:
            pinned.append(f"{module}@{version}")
    return pinned


def _go_direct_requirements(workdir: Path) -> dict:
    text = (workdir / "go.mod").read_text()
    return dict(re.findall(r"^\s*(?:require\s+)?(\S+\.\S+/\S+)\s+(v\S+)\s*$", text, re.MULTILINE))


# --- Python -------------------------------------------------------------------------------------

def python_distributions(code: str) -> list[str]:
    """PyPI distributions for the snippet's non-standard-library imports."""
    tree = ast.parse(code)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module.split(".")[0])
    mapping = dependencies()["python"]["distributions"]
    found = []
    for name in names:
        if name not in sys.stdlib_module_names and mapping.get(name, name) not in found:
            found.append(mapping.get(name, name))
    return found


def prepare_python(code: str, workdir: Path, venvs: Path, pins: dict | None = None) -> Prepared:
    """A venv with the snippet's distributions (newest, or the versions in pins), reused across runs."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "snippet.py").write_text(code, encoding="utf-8")
    prepared = Prepared([], workdir)
    try:
        distributions = python_distributions(code)
    except SyntaxError as error:
        prepared.command = None
        prepared.verdict, prepared.detail = "FAILS TO BUILD", f"the snippet is not valid Python: {error}"
        prepared.evidence = prepared.detail
        return prepared
    requirements = [f"{d}=={pins[d]}" if pins and d in pins else d for d in distributions]
    venv = venvs / ("-".join(requirements).replace("=", "") or "stdlib")
    python = venv / "bin" / "python"
    prepared.command = [str(python), "snippet.py"]
    if not python.exists():
        made = run([sys.executable, "-m", "venv", str(venv)], workdir, 120)
        if not made.ok:
            return _failed(prepared, "FAILS TO INSTALL", made, "python -m venv")
    if requirements:
        done = run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
                   workdir, INSTALL_TIMEOUT)
        if not done.ok:
            shutil.rmtree(venv, ignore_errors=True)
            return _failed(prepared, "FAILS TO INSTALL", done, f"pip install {' '.join(requirements)}")
    for dist in distributions:
        shown = run([str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"], workdir, 60)
        prepared.versions[dist] = shown.stdout.strip()
    return prepared


def python_older_majors(dist: str, newest: str, python: str) -> list[str]:
    """The newest version of each major below `newest`'s, newest first, as `pip index versions`
    run by `python` (a snippet's venv interpreter, which has pip) lists them."""
    listed = run([python, "-m", "pip", "index", "versions", dist], Path.cwd(), 120)
    match = re.search(r"Available versions: (.*)", listed.stdout)
    if not match:
        return []
    newest_major = _major(newest)
    by_major: dict[int, str] = {}
    for version in (v.strip() for v in match.group(1).split(",")):
        if re.fullmatch(r"\d+(\.\d+)*", version) and _major(version) < newest_major:
            by_major.setdefault(_major(version), version)  # the list is newest first
    return [by_major[m] for m in sorted(by_major, reverse=True)]


def _major(version: str) -> int:
    return int(version.split(".")[0])


def _failed(prepared: Prepared, verdict: str, finished: Finished, step: str) -> Prepared:
    prepared.command = None
    prepared.verdict = verdict
    prepared.detail = f"{step}: {key_line(output(finished))}"
    prepared.evidence = evidence(finished) + "\n" + "\n".join(output(finished).strip().splitlines()[-12:])
    return prepared
