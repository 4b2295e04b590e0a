"""An example runs by hand, without the harness: the ILP_* variables and its command are enough
(interop/CLIENTS.md). Shown with python/raw_p1363.py, whose only dependency (`cryptography`) the
test environment has; every example is run under ILP_TIMEOUT_S by the robustness columns of
`nox -s interop`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from server_stub.records import by_connection

from interop.fixture import diff_rows, expected_rows, load_rows, row_fields
from interop.paths import AUTH_DB, DEFAULT_JWK, REPO, ROWS
from server_stub import run_stub

EXAMPLE = REPO / "python" / "raw_p1363.py"


def _by_hand(port: int, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ILP_")}
    env.update(ILP_HOST="127.0.0.1", ILP_PORT=str(port), ILP_KEY=str(DEFAULT_JWK), ILP_ROWS=str(ROWS), **variables)
    return subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_the_raw_example_authenticates_and_delivers_its_rows_by_hand():
    with run_stub(AUTH_DB) as stub:
        done = _by_hand(stub.port, ILP_CONNECTIONS="3")
        assert done.returncode == 0, done.stderr
        stub.wait_for_rows(3 * len(load_rows()))
        conns = by_connection(stub.events())
    assert [(c.accepted, c.auth["encoding"]) for c in conns.values()] == [(True, "p1363")] * 3
    for conn in conns.values():
        assert diff_rows(expected_rows(load_rows()), [row_fields(r) for r in conn.rows]) == []


def test_the_raw_example_bounds_its_wait_for_the_challenge_by_ilp_timeout_s():
    with run_stub(AUTH_DB, fault="no-challenge") as stub:
        done = _by_hand(stub.port, ILP_TIMEOUT_S="1.5")
    assert done.returncode == 1
    assert done.stderr == "python-raw-p1363: connection 1: reading the challenge: timed out after 1.5 s\n"


@pytest.mark.parametrize("variables, line", [
    ({"ILP_PROTOCOL_VERSION": "2"}, "ILP_PROTOCOL_VERSION=2: this example sends protocol version 1 only"),
    ({"ILP_TLS_CA": str(AUTH_DB)}, "ILP_TLS_CA is set, but this example speaks plain TCP only"),
    ({"ILP_TIMEOUT_S": "soon"}, 'ILP_TIMEOUT_S must be a positive number of seconds, got "soon"'),
])
def test_what_the_example_cannot_do_is_refused_before_connecting(variables, line):
    with run_stub(AUTH_DB) as stub:
        done = _by_hand(stub.port, **variables)
        assert stub.events("connect") == []
    assert (done.returncode, done.stderr) == (1, f"python-raw-p1363: {line}\n")
