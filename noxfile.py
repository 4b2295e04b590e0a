"""The gallery's one entry point. `nox -l` lists the sessions.

    nox -s tests interop docs lint    the test command (README.md; what .ci/run runs)

    nox -s tests                 the stub's test suite and the harness's own tests
    nox -s interop [-- FILTER]   every example against the stub, plus the negative matrix
    nox -s docs [-- PAGE...]     run the snippets of documentation pages against the stub
    nox -s questdb [-- FILTER]   the negative matrix and the examples against the real QuestDB too
    nox -s bench                 handshakes/s and rows/s, stub beside QuestDB, with OpenSSL's ceiling
    nox -s lint                  ruff, go vet, node --check, cargo fmt --check

Python is pinned to the machine's 3.11 and nox never downloads an interpreter; the uv venv
backend is used when uv is installed. Python installs are constrained by the pinned versions in
server_stub/constraints.txt; Node and Go pins live in node/package-lock.json and go/go.sum.
"""

from __future__ import annotations

import nox

PYTHON = "3.11"
STUB = "./server_stub"
CONSTRAINTS = "server_stub/constraints.txt"
HARNESS_REQUIREMENTS = "interop/requirements.txt"
RUFF = "ruff==0.17.6"

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.error_on_external_run = True
nox.options.sessions = ["tests"]


def install_stub(session: nox.Session, extras: str = "") -> None:
    """The stub package (editable) and what the harness needs besides it, all pinned by CONSTRAINTS."""
    session.install("-c", CONSTRAINTS, "-e", f"{STUB}{extras}", "-r", HARNESS_REQUIREMENTS)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The Go and Rust examples' helper tests, the stub's suite (Wycheproof vectors, sockets, hypothesis) and the
    harness's own tests."""
    install_stub(session, "[test]")
    session.run("go", "-C", "go", "test", "./...", external=True)
    # The Rust helper crate alone (it needs serde_json only), into the registry's target folder.
    session.run("cargo", "test", "--quiet", "--release", "--locked", "--manifest-path", "rust/Cargo.toml",
                "--target-dir", "build/rust-target", "-p", "ilp-example", external=True)
    session.run("python", "-m", "pytest", "--timeout=300", "server_stub/tests", "interop/tests", *session.posargs)


@nox.session(python=PYTHON)
def interop(session: nox.Session) -> None:
    """Build every registered example, run it against the stub, judge the stub's events.

    `nox -s interop -- go` (a language, an environment or an example id) narrows the run;
    `-- negative` runs only the reference signer's negative matrix.
    """
    install_stub(session)
    session.run("python", "-m", "interop", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Run every snippet of documentation pages against the stub, verdict per snippet.

    `nox -s docs -- page.mdx --budget 30`; without pages: the sample pages beside the repository,
    with the expectations of interop/docs_expectations.toml (interop/README.md).
    """
    install_stub(session)
    session.run("python", "-m", "interop.docs", *session.posargs)


@nox.session(python=PYTHON)
def questdb(session: nox.Session) -> None:
    """The real QuestDB server (org.questdb:questdb from Maven Central, needs java and mvn) beside
    the stub: the negative matrix and every example, as a parity table."""
    install_stub(session)
    session.run("python", "-m", "interop.questdb", *session.posargs)


@nox.session(python=PYTHON)
def diff(session: nox.Session) -> None:
    """Differential parity: generated handshakes and ILP lines against the pinned QuestDB and the stub;
    `-- --record` rewrites the ground truth the tests replay (interop/diff/README.md)."""
    install_stub(session)
    session.run("python", "-m", "interop.diff", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Handshakes/s and ILP rows/s: the stub beside the real QuestDB (needs java 17+ and mvn) with one
    load generator, OpenSSL's verify rate as the ceiling, pyinstrument profiles of the stub where it
    misses a target, and the time to verdict against its targets: `python -m interop` warm and cold (a
    fresh clone, empty build folder and GOCACHE), `python -m interop.docs` warm. `nox -s bench --
    --skip-interop --skip-cold --skip-docs`; writes build/bench/bench.json."""
    install_stub(session)
    session.install("pyinstrument==5.1.3")
    session.run("python", "-m", "interop.bench", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over every Python file, `go vet` over the Go examples, `node --check` over the Node ones, `cargo fmt
    --check` over the Rust ones."""
    session.install(RUFF)
    session.run("ruff", "check", "--line-length", "120", ".")
    session.run("go", "-C", "go", "vet", "./...", external=True)
    session.run("npm", "ci", "--prefix", "node", "--no-audit", "--no-fund", external=True)
    session.run("npm", "run", "lint", "--prefix", "node", external=True)
    session.run("cargo", "fmt", "--all", "--check", "--manifest-path", "rust/Cargo.toml", external=True)
