"""P-256 numbers as the docs write them: base64url scalars and coordinates, and the public key of a d."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from server_stub.authdb import decode_base64url

from .result import COORDINATE_BYTES

CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # of the P-256 group


def scalar(token: str) -> int | None:
    """The integer of a base64url P-256 scalar or coordinate (exactly 32 bytes, in 1..n-1), or None."""
    try:
        raw = decode_base64url(token)
    except ValueError:
        return None
    value = int.from_bytes(raw, "big")
    return value if len(raw) == COORDINATE_BYTES and 0 < value < CURVE_ORDER else None


def b64url(value: int) -> str:
    """32 big-endian bytes as unpadded base64url, as a JWK and the auth file write them."""
    return base64.urlsafe_b64encode(value.to_bytes(COORDINATE_BYTES, "big")).rstrip(b"=").decode()


def public_point(d: int) -> tuple[int, int]:
    """(x, y) of d·G."""
    numbers = ec.derive_private_key(d, ec.SECP256R1()).public_key().public_numbers()
    return numbers.x, numbers.y
