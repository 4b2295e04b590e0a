"""The tests' handshake steps, one call each so that a test can get any of them wrong by hand on the
socket: thin uses of the reference client (server_stub.client), which does the reading and signing."""

from __future__ import annotations

import base64
import socket

from server_stub import client

TIMEOUT = 5.0
_KEYS: dict[tuple[str, str], client.Key] = {}


def key_of(jwk: dict) -> client.Key:
    """The JWK's key, parsed once per test session."""
    cache_key = (jwk["kid"], jwk["d"])
    key = _KEYS.get(cache_key)
    if key is None:
        key = _KEYS[cache_key] = client.Key.from_jwk(jwk)
    return key


def connect(stub) -> socket.socket:
    return client.connect(stub.host, stub.port, TIMEOUT).sock


def read_line(sock: socket.socket) -> bytes:
    """Bytes up to (without) the next \\n, whatever their number; EOFError (a close) or TimeoutError otherwise."""
    conn = client.ClientConnection(sock, TIMEOUT)
    conn.read_challenge()
    seen = conn.outcome
    if seen.line is None:
        raise (EOFError if seen.closed else TimeoutError)(seen.problem)
    return seen.line


def der_signature(jwk: dict, message: bytes) -> bytes:
    return key_of(jwk).der(message)


def raw_signature(jwk: dict, message: bytes) -> bytes:
    """r || s, each left-padded to 32 bytes."""
    return key_of(jwk).p1363(message)


def b64(sig: bytes) -> bytes:
    return base64.b64encode(sig)


def handshake(stub, kid: str, answer, after_key_id: bytes = b"", after_signature: bytes = b"") -> socket.socket:
    """Send the key id, read the challenge, send answer(challenge) + b'\\n' (+ pipelined bytes)."""
    sock = connect(stub)
    sock.sendall(kid.encode() + b"\n" + after_key_id)
    challenge = read_line(sock)
    sock.sendall(answer(challenge) + b"\n" + after_signature)
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    """True when the server closed the connection (EOF or reset) within TIMEOUT without sending anything."""
    return client.ClientConnection(sock, TIMEOUT).server_closed(TIMEOUT)
