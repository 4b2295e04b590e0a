"""The pytest fixture a client-library maintainer uses: a running stub and a key, in three lines."""

from __future__ import annotations

import socket

from wire import b64, raw_signature, read_line


def test_three_line_client_test(ilp_stub):
    my_client_send(ilp_stub.host, ilp_stub.port, ilp_stub.jwk, b"t x=1i\n")
    assert ilp_stub.wait_for_rows(1)[0]["columns"]["x"] == {"type": "integer", "value": 1}


def test_fixture_hands_over_key_files(ilp_stub):
    assert ilp_stub.jwk_path.stat().st_mode & 0o777 == 0o600
    assert ilp_stub.auth_db.read_text().startswith(f"{ilp_stub.jwk['kid']} ec-p-256-sha256 ")


def test_factory_takes_limits(ilp_stub_factory):
    stub = ilp_stub_factory(handshake_timeout=0.2)
    with socket.create_connection((stub.host, stub.port), timeout=5):
        assert stub.wait_for_auth(1)[0]["reason_code"] == "key_id_timeout"


def my_client_send(host, port, jwk, rows):
    """Stands in for the client under test."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(jwk["kid"].encode() + b"\n")
        challenge = read_line(sock)
        sock.sendall(b64(raw_signature(jwk, challenge)) + b"\n" + rows)
