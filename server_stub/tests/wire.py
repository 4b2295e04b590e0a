"""A minimal test client for the handshake: every step explicit, so a test can get one wrong."""

from __future__ import annotations

import base64
import socket

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from server_stub.keys import private_key_from_jwk

TIMEOUT = 5.0


def connect(stub) -> socket.socket:
    return socket.create_connection((stub.host, stub.port), timeout=TIMEOUT)


def read_line(sock: socket.socket) -> bytes:
    """Bytes up to (without) the next \\n; b'' plus EOF raises EOFError."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1024)
        if not chunk:
            raise EOFError(f"connection closed after {data!r}")
        data += chunk
    return data[:-1]


def der_signature(jwk: dict, message: bytes) -> bytes:
    return private_key_from_jwk(jwk).sign(message, ec.ECDSA(hashes.SHA256()))


def raw_signature(jwk: dict, message: bytes) -> bytes:
    """r || s, each left-padded to 32 bytes."""
    r, s = decode_dss_signature(der_signature(jwk, message))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


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
    """True when the server closed the connection without sending anything."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
