"""The reference signer: answers real challenges with deliberately varied handshakes.

Each case of negative_cases.toml says how to deviate from a correct handshake; `run_case` plays
it on one connection and reports what the client side saw on the wire. The verdict itself comes
from the stub's events (negative.py compares both with the case's expectation).
"""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from server_stub.keys import private_key_from_jwk

TIMEOUT = 10.0
SILENCE = 0.5  # how long a server that accepted stays silent before we call the connection open
MAX_RESIGN = 10_000  # signatures are randomised: re-sign until one has the property a case needs


@dataclass
class WireObservation:
    local_peer: str  # "127.0.0.1:51234", to find the stub's events for this connection
    challenge_received: bool
    closed_by_server: bool


def run_case(host: str, port: int, keys: dict, case: dict, ilp_lines: list[str], after=None) -> WireObservation:
    """Play one case. `after(sock)`, if given, runs on a connection the server left open."""
    rows = "".join(line + "\n" for line in ilp_lines).encode()
    kid = case.get("kid", "testUser1")
    jwk = keys[case.get("key", kid)]
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        host_, port_ = sock.getsockname()[:2]
        local = f"{host_}:{port_}"
        if case.get("truncate_key_id"):
            sock.sendall(kid[:3].encode())
            sock.shutdown(socket.SHUT_WR)
            return WireObservation(local, *_after_close(sock))
        key_id_line = kid.encode() + case.get("key_id_end", "\n").encode()
        sock.sendall(key_id_line + (rows if case.get("rows") == "before" else b""))
        challenge = _read_line(sock)
        if challenge is None:
            return WireObservation(local, False, True)
        line = signature_line(jwk, challenge, case) + case.get("signature_end", "\n").encode()
        sock.sendall(line + (rows if case.get("rows", "after") == "after" else b""))
        closed = _closed_by_server(sock)
        if not closed and after is not None:
            after(sock)
        return WireObservation(local, True, closed)


def signature_line(jwk: dict, challenge: bytes, case: dict) -> bytes:
    """The base64 text the case sends for this challenge (without its line end)."""
    message = challenge + b"\n" if case.get("message") == "challenge+newline" else challenge
    key = private_key_from_jwk(jwk)
    kind, alphabet = case.get("signature", "p1363"), case.get("base64", "standard")
    for _ in range(MAX_RESIGN):
        der = key.sign(message, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        if kind == "der":
            sig = der
        elif kind == "p1363":
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        elif kind == "p1363-unpadded":
            if max(r, s) < 1 << 248 or min(r, s) >= 1 << 248:
                continue  # want exactly one short scalar: a 63-byte signature
            sig = _minimal(r) + _minimal(s)
        elif kind == "der-unsigned":
            if max(r, s) < 1 << 255:
                continue  # want a scalar with its top bit set: strict DER gives it a 0x00 sign byte
            sig = _der_sequence(_der_integer_unsigned(r) + _der_integer_unsigned(s))
        elif kind == "zeros":
            sig = bytes(64)
        else:
            raise ValueError(f"unknown signature kind {kind!r}")
        text = base64.b64encode(sig)
        if alphabet == "urlsafe":
            if b"+" not in text and b"/" not in text:
                continue  # identical in both alphabets: not a test of anything
            text = base64.urlsafe_b64encode(sig)
        elif alphabet == "unpadded":
            text = text.rstrip(b"=")
        if "pad_to" in case:
            text = text.rstrip(b"=").ljust(case["pad_to"], b"=")
        return text
    raise RuntimeError(f"no signature with the property {kind}/{alphabet} in {MAX_RESIGN} tries")


def _minimal(n: int) -> bytes:
    """What Go's big.Int.Bytes() gives: no leading zero bytes."""
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def _der_integer_unsigned(n: int) -> bytes:
    """A DER INTEGER holding n's minimal unsigned bytes, WITHOUT the 0x00 that strict DER puts before
    a top bit that is set (what a hand-written raw-to-DER converter that forgets it sends)."""
    body = _minimal(n)
    return bytes([0x02, len(body)]) + body


def _der_sequence(body: bytes) -> bytes:
    return bytes([0x30, len(body)]) + body


def _read_line(sock: socket.socket) -> bytes | None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1024)
        if not chunk:
            return None
        data += chunk
    return data[:-1]


def _closed_by_server(sock: socket.socket) -> bool:
    """Accepted handshakes get silence; rejected ones a close (EOF or reset)."""
    sock.settimeout(SILENCE)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _after_close(sock: socket.socket) -> tuple[bool, bool]:
    """After our half-close: (challenge received, closed by server)."""
    sock.settimeout(TIMEOUT)
    try:
        data = sock.recv(1024)
    except ConnectionResetError:
        return False, True
    return bool(data), data == b"" or _closed_by_server(sock)
