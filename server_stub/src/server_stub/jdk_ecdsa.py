"""ECDSA P-256 as the JDK verifies it, where that differs from OpenSSL (which verifies for the stub).

QuestDB hands a signature to the JDK's "SHA256withECDSA" (DER) or "SHA256withECDSAinP1363Format"
(64 bytes) verifier (server_stub/PROTOCOL.md section 1.3). Measured on the JDK that runs the pinned
server (interop/jca/JcaVerdicts.java over every Wycheproof vector, recorded in
server_stub/tests/data/wycheproof_jca.json), the JDK differs from a strict verifier twice:

1. Its DER reader takes each INTEGER as an unsigned magnitude. An INTEGER whose first content byte
   has its top bit set, which strict DER reads as negative (the 0x00 sign byte is missing), is
   accepted as the positive number of the same bytes. Everything else is strict: short-form or
   minimal lengths only, no indefinite length, no redundant leading 0x00, no zero-length INTEGER,
   exactly two INTEGERs, nothing after the SEQUENCE.
2. It compares r with the x-coordinate of u1*G + u2*Q without reducing it mod n. When that x is n
   or more (possible only for r below p - n, about 2^-128 of signatures, never by chance) the JDK
   rejects a signature that OpenSSL accepts.

This module reads DER the JDK's way and decides case 2; signature.py combines both with OpenSSL's
verification. Point arithmetic here is only for case 2 and never decides acceptance on its own.
"""

from __future__ import annotations

import hashlib

# P-256 (SEC 2 / FIPS 186-4): field prime, group order, curve coefficient a = -3, base point.
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
A = P - 3
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)

_SEQUENCE, _INTEGER = 0x30, 0x02


def der_scalars(sig: bytes) -> tuple[int, int, list[str]] | None:
    """(r, s, the scalars whose INTEGER lacks its sign byte) if the JDK's DER reader takes `sig`."""
    body = _element(sig, 0, _SEQUENCE)
    if body is None or body[1] != len(sig):  # the SEQUENCE must be all of it
        return None
    start, end = body
    scalars, unsigned = [], []
    for name in ("r", "s"):
        element = _element(sig, start, _INTEGER, end)
        if element is None:
            return None
        content, start = sig[element[0]:element[1]], element[1]
        if not content or (len(content) >= 2 and content[0] == 0 and content[1] < 0x80):
            return None  # zero length, or a redundant leading zero byte
        if content[0] >= 0x80:
            unsigned.append(name)  # strict DER would read a negative number here
        scalars.append(int.from_bytes(content, "big"))
    if start != end:  # a third element inside the SEQUENCE
        return None
    return scalars[0], scalars[1], unsigned


def _element(data: bytes, at: int, tag: int, limit: int | None = None) -> tuple[int, int] | None:
    """(content start, content end) of the DER element with `tag` at `at`, lengths in DER form only."""
    limit = len(data) if limit is None else limit
    if at + 2 > limit or data[at] != tag:
        return None
    length, at = data[at + 1], at + 2
    if length & 0x80:  # long form: 0x81..0x84 then that many bytes, and only for lengths of 128 or more
        count = length & 0x7F
        if not 1 <= count <= 4 or at + count > limit or data[at] == 0:
            return None
        length, at = int.from_bytes(data[at:at + count], "big"), at + count
        if length < 0x80:
            return None
    if at + length > limit:
        return None
    return at, at + length


def x_needs_reduction(public_point: tuple[int, int], message: bytes, r: int, s: int) -> bool:
    """True when the point the verification computes has x >= n: the JDK then rejects (case 2).

    Call it only for a signature OpenSSL accepted, so r and s are in [1, n-1] and s is invertible.
    """
    if r >= P - N:  # x = r + n would not be a field element: x = r itself, no reduction
        return False
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, N)
    point = _add(_multiply(e * w % N, G), _multiply(r * w % N, public_point))
    return point is not None and point[0] >= N


def _add(p1: tuple[int, int] | None, p2: tuple[int, int] | None) -> tuple[int, int] | None:
    """Affine point addition on P-256; None is the point at infinity."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    if p1 == p2:
        slope = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def _multiply(k: int, point: tuple[int, int]) -> tuple[int, int] | None:
    result, addend = None, point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        k >>= 1
    return result
