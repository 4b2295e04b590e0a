"""Python snippets: a virtual environment with their imports' distributions, reused across runs; wheels
only first (pip --only-binary=:all:, no setup.py runs), a plain pip install only when that fails."""

from __future__ import annotations

import ast
import re
import shutil
import sys
import threading
from collections import defaultdict
from pathlib import Path

from ..data import dependencies
from .common import INSTALL_TIMEOUT, Prepared, key_line, output, run
from .common import failed as _failed

_FROM_SOURCE = "docs-plain-install.txt"  # in a venv whose distributions needed a plain pip install: why
# Snippets are prepared at the same time (schedule.py); two that need the same venv make or fill it one
# after the other (by the venv's path).
_VENV_LOCKS: defaultdict[Path, threading.Lock] = defaultdict(threading.Lock)


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
    with _VENV_LOCKS[venv]:
        return _install(prepared, venv, python, requirements, distributions, workdir)


def _install(prepared: Prepared, venv: Path, python: Path, requirements: list[str], distributions: list[str],
             workdir: Path) -> Prepared:
    """Make the venv if it is missing, install the requirements into it, and read their versions."""
    if not python.exists():
        made = run([sys.executable, "-m", "venv", str(venv)], workdir, 120)
        if not made.ok:
            return _failed(prepared, "FAILS TO INSTALL", made, "python -m venv")
    if requirements:
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        # A page's code is untrusted: wheels only first, so that no sdist's setup.py runs.
        wheels = run([*pip, "--only-binary=:all:", *requirements], workdir, INSTALL_TIMEOUT)
        if not wheels.ok:
            done = run([*pip, *requirements], workdir, INSTALL_TIMEOUT)
            if not done.ok:
                shutil.rmtree(venv, ignore_errors=True)
                return _failed(prepared, "FAILS TO INSTALL", done, f"pip install {' '.join(requirements)}")
            (venv / _FROM_SOURCE).write_text(f"pip install --only-binary=:all: failed ({key_line(output(wheels))}); "
                                             "installed with a plain pip install, which may build an sdist and run "
                                             "its setup.py")
    if (venv / _FROM_SOURCE).is_file():  # this run's plain install, or that of the run that made the venv
        prepared.notes.append((venv / _FROM_SOURCE).read_text())
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
