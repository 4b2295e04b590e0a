"""Signature recipes: each turns the live challenge into the text of a signature line (without its
line end), one deliberate encoding or mistake per recipe. The generator classes of generators.py
pick among them; the recorded ground truth names them, so a recipe's name never changes meaning.

A recipe that needs a property of the signature (r with its top bit set, a scalar short of 32
bytes) re-signs until the fresh signature has it: ECDSA signatures are random, so the property
turns up within a few tries, and the case tests what its name says on every run.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from server_stub.client import Key

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # the order of P-256
TOP_BIT = 1 << 255
SHORT = 1 << 248
MAX_TRIES = 20_000  # a scalar below 2^248 takes 256 tries on average; 20,000 never fall short in practice

Scalars = tuple[int, int]


def _signed(key: Key, challenge: bytes, wanted: Callable[[int, int], bool] = lambda r, s: True) -> Scalars:
    for _ in range(MAX_TRIES):
        r, s = decode_dss_signature(key.der(challenge))
        if wanted(r, s):
            return r, s
    raise RuntimeError(f"no signature with the wanted property in {MAX_TRIES} tries")


# --- DER, byte by byte ---------------------------------------------------------------------------

def _length(n: int, long_form: bool = False) -> bytes:
    if n < 0x80 and not long_form:
        return bytes([n])
    body = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return bytes([0x80 | len(body)]) + body


def _magnitude(n: int) -> bytes:
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")


def der_int(n: int, *, sign_byte: bool = True, extra_zero: bool = False, long_form: bool = False,
            tag: int = 0x02) -> bytes:
    """An INTEGER holding the non-negative n: strict DER by default, or with one mistake."""
    body = _magnitude(n) if n else b"\x00"
    if sign_byte and body[0] & 0x80:
        body = b"\x00" + body
    if extra_zero:
        body = b"\x00" + body
    return bytes([tag]) + _length(len(body), long_form) + body


def der_seq(*elements: bytes, long_form: bool = False, tag: int = 0x30, indefinite: bool = False) -> bytes:
    body = b"".join(elements)
    if indefinite:
        return bytes([tag, 0x80]) + body + b"\x00\x00"
    return bytes([tag]) + _length(len(body), long_form) + body


def _der(r: int, s: int) -> bytes:
    return der_seq(der_int(r), der_int(s))


def _raw(r: int, s: int, width: int = 32) -> bytes:
    return r.to_bytes(width, "big") + s.to_bytes(width, "big")


def _b64(signature: bytes) -> bytes:
    return base64.b64encode(signature)


Recipe = Callable[[Key, bytes], bytes]
RECIPES: dict[str, Recipe] = {}


def recipe(name: str, make: Callable[[Key, bytes], bytes]) -> None:
    if name in RECIPES:
        raise ValueError(f"recipe {name!r} twice")
    RECIPES[name] = make


def _signature_recipe(name: str, wanted, encode: Callable[[int, int], bytes]) -> None:
    """A recipe whose signature bytes come from (r, s) of a fresh signature with property `wanted`."""
    recipe(name, lambda key, challenge: _b64(encode(*_signed(key, challenge, wanted))))


ANY = lambda r, s: True
R_TOP = lambda r, s: r >= TOP_BIT
S_TOP = lambda r, s: s >= TOP_BIT
R_LOW = lambda r, s: r < TOP_BIT
R_SHORT = lambda r, s: r < SHORT
S_SHORT = lambda r, s: s < SHORT

# r and s replaced, the same way in both encodings: 0, n, n+1 or 2^256-1 (out of range), and n-s
# (the other of the two valid s, accepted everywhere).
SCALARS = {
    "r-zero": lambda r, s: (0, s),
    "s-zero": lambda r, s: (r, 0),
    "r-n": lambda r, s: (N, s),
    "s-n": lambda r, s: (r, N),
    "r-above-n": lambda r, s: (N + 1, s),
    "s-above-n": lambda r, s: (r, N + 1),
    "s-max": lambda r, s: (r, (1 << 256) - 1),
    "high-low-s": lambda r, s: (r, N - s),
}

DER = {
    "der": (ANY, _der),
    "der-missing-sign-byte-r": (R_TOP, lambda r, s: der_seq(der_int(r, sign_byte=False), der_int(s))),
    "der-missing-sign-byte-s": (S_TOP, lambda r, s: der_seq(der_int(r), der_int(s, sign_byte=False))),
    "der-missing-sign-byte-both": (lambda r, s: r >= TOP_BIT and s >= TOP_BIT,
                                   lambda r, s: der_seq(der_int(r, sign_byte=False), der_int(s, sign_byte=False))),
    "der-extra-zero-r": (ANY, lambda r, s: der_seq(der_int(r, extra_zero=True), der_int(s))),
    "der-extra-zero-s": (ANY, lambda r, s: der_seq(der_int(r), der_int(s, extra_zero=True))),
    "der-long-form-sequence-length": (ANY, lambda r, s: der_seq(der_int(r), der_int(s), long_form=True)),
    "der-long-form-integer-length": (ANY, lambda r, s: der_seq(der_int(r, long_form=True), der_int(s))),
    "der-indefinite-length": (ANY, lambda r, s: der_seq(der_int(r), der_int(s), indefinite=True)),
    "der-trailing-zero-byte": (ANY, lambda r, s: _der(r, s) + b"\x00"),
    "der-trailing-bytes": (ANY, lambda r, s: _der(r, s) + b"\x05\x00"),
    "der-sequence-length-plus-one": (ANY, lambda r, s: _bump_length(_der(r, s), 1)),
    "der-sequence-length-minus-one": (ANY, lambda r, s: _bump_length(_der(r, s), -1)),
    "der-wrong-sequence-tag": (ANY, lambda r, s: der_seq(der_int(r), der_int(s), tag=0x31)),
    "der-wrong-integer-tag": (ANY, lambda r, s: der_seq(der_int(r, tag=0x03), der_int(s))),
    "der-missing-s": (ANY, lambda r, s: der_seq(der_int(r))),
    "der-extra-integer": (ANY, lambda r, s: der_seq(der_int(r), der_int(s), der_int(1))),
    "der-swapped": (ANY, lambda r, s: _der(s, r)),
    "der-zero-length-r": (ANY, lambda r, s: der_seq(b"\x02\x00", der_int(s))),
    # 33 bytes for an r whose top bit is clear: a redundant zero byte (with the top bit set it would be strict DER)
    "der-oversized-r": (R_LOW, lambda r, s: der_seq(b"\x02\x21" + r.to_bytes(33, "big"), der_int(s))),
    "der-negative-r": (R_LOW, lambda r, s: der_seq(der_int(r | TOP_BIT, sign_byte=False), der_int(s))),
    "der-truncated": (ANY, lambda r, s: _der(r, s)[:-1]),
}

P1363 = {
    "p1363": (ANY, _raw),
    "p1363-unpadded-r": (R_SHORT, lambda r, s: _magnitude(r) + s.to_bytes(32, "big")),
    "p1363-unpadded-s": (S_SHORT, lambda r, s: r.to_bytes(32, "big") + _magnitude(s)),
    "p1363-65-bytes": (ANY, lambda r, s: b"\x00" + _raw(r, s)),
    "p1363-65-bytes-trailing": (ANY, lambda r, s: _raw(r, s) + b"\x00"),
    "p1363-66-bytes": (ANY, lambda r, s: _raw(r, s, 33)),
    "p1363-swapped": (ANY, lambda r, s: _raw(s, r)),
    "p1363-63-bytes-cut": (ANY, lambda r, s: _raw(r, s)[:63]),
}


for _name, _replace in SCALARS.items():
    DER[f"der-{_name}"] = (ANY, lambda r, s, replace=_replace: _der(*replace(r, s)))
    P1363[f"p1363-{_name}"] = (ANY, lambda r, s, replace=_replace: _raw(*replace(r, s)))


def _bump_length(der: bytes, delta: int) -> bytes:
    return bytes([der[0], der[1] + delta]) + der[2:]


for _name, (_wanted, _encode) in (DER | P1363).items():
    _signature_recipe(_name, _wanted, _encode)


# --- base64 of a good signature ----------------------------------------------------------------

def _text(form: str, edit: Callable[[bytes], bytes]) -> Recipe:
    encode = _der if form == "der" else _raw
    # DER of r and s without their top bit: 70 bytes, whose base64 ends "==" (partial padding needs two)
    wanted = (lambda r, s: r < TOP_BIT and s < TOP_BIT and r >= SHORT and s >= SHORT) if form == "der" else ANY
    return lambda key, challenge: edit(_b64(encode(*_signed(key, challenge, wanted))))


def _has_plus_or_slash(r: int, s: int, form: str) -> bool:
    encoded = _b64(_der(r, s) if form == "der" else _raw(r, s))
    return b"+" in encoded or b"/" in encoded


BASE64 = {
    "b64-unpadded": ("p1363", lambda t: t.rstrip(b"=")),
    "b64-partial-padding": ("der", lambda t: t[:-1]),  # 70 bytes of DER: 96 characters ending "==", one dropped
    "b64-padded-to-96": ("p1363", lambda t: t.rstrip(b"=").ljust(96, b"=")),
    "b64-padded-to-97": ("p1363", lambda t: t.rstrip(b"=").ljust(97, b"=")),
    "b64-der-padded-to-96": ("der", lambda t: t.rstrip(b"=").ljust(96, b"=")),
    "b64-der-padded-to-97": ("der", lambda t: t.rstrip(b"=").ljust(97, b"=")),
    "b64-equals-in-middle": ("p1363", lambda t: t[:40] + b"=" + t[40:]),
    "b64-space-in-middle": ("p1363", lambda t: t[:40] + b" " + t[40:]),
    "b64-leading-space": ("p1363", lambda t: b" " + t),
    "b64-trailing-space": ("p1363", lambda t: t + b" "),
    "b64-carriage-return": ("p1363", lambda t: t + b"\r"),
    "b64-tab": ("p1363", lambda t: t + b"\t"),
    "b64-one-char-cut": ("p1363", lambda t: t.rstrip(b"=")[:-1]),
    "b64-extra-char": ("p1363", lambda t: t.rstrip(b"=") + b"A"),
    "b64-der-unpadded": ("der", lambda t: t.rstrip(b"=")),
    "b64-lowercased": ("p1363", lambda t: t.lower()),
    "b64-empty": ("p1363", lambda t: b""),
    "b64-only-padding": ("p1363", lambda t: b"===="),
}

for _name, (_form, _edit) in BASE64.items():
    recipe(_name, _text(_form, _edit))
recipe("b64-urlsafe", lambda key, challenge: _b64(_raw(*_signed(
    key, challenge, lambda r, s: _has_plus_or_slash(r, s, "p1363")))).translate(bytes.maketrans(b"+/", b"-_")))
recipe("b64-der-urlsafe", lambda key, challenge: _b64(_der(*_signed(
    key, challenge, lambda r, s: _has_plus_or_slash(r, s, "der")))).translate(bytes.maketrans(b"+/", b"-_")))
recipe("other-message", lambda key, challenge: _b64(_raw(*_signed(key, challenge[::-1]))))
recipe("challenge-and-newline", lambda key, challenge: _b64(_raw(*_signed(key, challenge + b"\n"))))
recipe("all-zero-64", lambda key, challenge: _b64(bytes(64)))
recipe("all-zero-70", lambda key, challenge: _b64(bytes(70)))

DER_CLASS = tuple(DER)
P1363_CLASS = tuple(P1363)
BASE64_CLASS = (*BASE64, "b64-urlsafe", "b64-der-urlsafe", "other-message", "challenge-and-newline",
                "all-zero-64", "all-zero-70")
