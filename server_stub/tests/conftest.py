"""Keys for the socket tests."""

from __future__ import annotations

import pytest

from server_stub.keys import auth_line, generate_jwk


@pytest.fixture(scope="session")
def two_keys(tmp_path_factory):
    """An auth file with two fresh keys, 'alice' and 'bob'; returns (auth_path, {kid: jwk})."""
    jwks = {kid: generate_jwk(kid) for kid in ("alice", "bob")}
    path = tmp_path_factory.mktemp("auth") / "auth.txt"
    path.write_text("".join(auth_line(j) + "\n" for j in jwks.values()))
    return path, jwks
