"""pytest fixtures for client authors: a running stub with a fresh key, in three lines.

    def test_my_client(ilp_stub):
        my_client.send(ilp_stub.host, ilp_stub.port, ilp_stub.jwk, "t x=1i\\n")
        assert ilp_stub.wait_for_rows(1)[0]["columns"]["x"] == {"type": "integer", "value": 1}

`ilp_stub.jwk` is the client's key (kid, d, x, y as base64url), `ilp_stub.jwk_path` its file
(mode 0600) and `ilp_stub.auth_db` the auth file. `ilp_stub_factory(auth_db=..., **limits)` starts
more stubs with your own auth file or limits (see server.StubConfig); all stop after the test.
"""

from __future__ import annotations

import pytest

from .keys import load_jwk, write_keypair
from .running import RunningStub


@pytest.fixture
def ilp_stub_factory(tmp_path_factory):
    started: list[RunningStub] = []

    def start(auth_db=None, kid: str = "testClient", **config) -> RunningStub:
        jwk_path = None
        if auth_db is None:
            jwk_path, auth_db, _ = write_keypair(kid, tmp_path_factory.mktemp("ilp-stub-keys"))
        stub = RunningStub(auth_db, **config)
        stub.jwk_path = jwk_path
        stub.jwk = load_jwk(jwk_path) if jwk_path else None
        started.append(stub.start())
        return stub

    yield start
    for stub in started:
        stub.stop()


@pytest.fixture
def ilp_stub(ilp_stub_factory) -> RunningStub:
    return ilp_stub_factory()
