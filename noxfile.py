"""The gallery's one entry point. `nox -l` lists the sessions.

    nox -s tests     the stub's own test suite (server_stub/tests)
    nox -s lint      ruff over the Python code

Python is pinned to the machine's 3.11 and nox never downloads an interpreter; the uv venv
backend is used when uv is installed. Every Python install is constrained by the pinned versions
in server_stub/constraints.txt.
"""

from __future__ import annotations

import nox

PYTHON = "3.11"
STUB_CONSTRAINTS = "server_stub/constraints.txt"

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.error_on_external_run = True
nox.options.sessions = ["tests"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The stub's test suite: Wycheproof vectors, socket-level handshakes, hypothesis properties."""
    session.install("-c", STUB_CONSTRAINTS, "-e", "./server_stub[test]")
    session.run("pytest", "server_stub/tests", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over every Python file of the repository."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
