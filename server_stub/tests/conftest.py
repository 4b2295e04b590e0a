"""Shared test helpers: where ../shared is, and keys for the socket tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server_stub.keys import auth_line, generate_jwk

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """../shared beside the repository (or $ILP_SHARED_DIR): test inputs, never needed by the stub."""
    return Path(os.environ.get("ILP_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def two_keys(tmp_path_factory):
    """An auth file with two fresh keys, 'alice' and 'bob'; returns (auth_path, {kid: jwk})."""
    jwks = {kid: generate_jwk(kid) for kid in ("alice", "bob")}
    path = tmp_path_factory.mktemp("auth") / "auth.txt"
    path.write_text("".join(auth_line(j) + "\n" for j in jwks.values()))
    return path, jwks
