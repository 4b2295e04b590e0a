"""The auth event's `edge_cases` (signature.edge_cases): which scalar values a signature put to the test,
read from the scalars the server decoded, in either encoding, accepted or not."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from server_stub.authdb import parse_auth_db
from server_stub.client import Key
from server_stub.keys import auth_line, generate_jwk
from server_stub.signature import edge_cases, judge

JWK = generate_jwk("edge")
KEYS = parse_auth_db(auth_line(JWK) + "\n")
KEY = Key.from_jwk(JWK)


@pytest.mark.parametrize(("r", "s", "expected"), [
    ((1 << 248) - 1, 1 << 248, ["r_below_2^248"]),
    (1 << 248, (1 << 248) - 1, ["s_below_2^248"]),
    (1 << 255, (1 << 255) - 1, ["r_top_bit"]),
    ((1 << 255) - 1, 1 << 255, ["s_top_bit"]),
    (5, (1 << 256) - 2, ["r_below_2^248", "s_top_bit"]),
    (1 << 250, 1 << 250, []),
])
def test_the_boundaries(r, s, expected):
    assert edge_cases(r, s) == expected


def _signature_with(case: str, form: str) -> tuple[bytes, bytes, int, int]:
    """(challenge, signature in form, r, s) for a fresh signature that exercises `case` (about 1 in 128)."""
    for _ in range(20000):
        challenge = base64.b64encode(os.urandom(48))
        raw = KEY.sign(challenge, "p1363")
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if case in edge_cases(r, s):
            return challenge, (raw if form == "p1363" else encode_dss_signature(r, s)), r, s
    raise AssertionError(f"no signature with {case} in 20,000")


@pytest.mark.parametrize("form", ["p1363", "der"])
@pytest.mark.parametrize("case", ["r_below_2^248", "s_below_2^248", "r_top_bit", "s_top_bit"])
def test_an_accepted_signature_reports_what_its_scalars_exercised(case, form):
    challenge, sig, r, s = _signature_with(case, form)
    verdict = judge("edge", challenge, base64.b64encode(sig), KEYS)
    assert verdict.accepted
    assert case in verdict.edge_cases and verdict.edge_cases == edge_cases(r, s)


def test_a_rejected_signature_still_reports_them_once_its_scalars_were_read():
    challenge, sig, r, s = _signature_with("r_below_2^248", "p1363")
    verdict = judge("edge", challenge + b"x", base64.b64encode(sig), KEYS)  # signed another message
    assert not verdict.accepted and verdict.reason_code
    assert verdict.edge_cases == edge_cases(r, s)


def test_an_unpadded_raw_signature_reports_the_edge_case_it_broke_on():
    """63 bytes is read as DER by the length rule, and is not DER; padded back, its scalars verify: the
    event says which edge case the client's encoding broke on."""
    challenge, sig, r, s = _signature_with("r_below_2^248", "p1363")
    verdict = judge("edge", challenge, base64.b64encode(sig[1:]), KEYS)
    assert verdict.reason_code == "short_raw_signature"
    assert "r_below_2^248" in verdict.edge_cases and verdict.edge_cases == edge_cases(r, s)


def test_a_signature_whose_scalars_cannot_be_read_reports_none():
    challenge, sig, _, _ = _signature_with("r_top_bit", "p1363")
    verdict = judge("edge", challenge, base64.b64encode(b"\x31" + sig[1:40]), KEYS)
    assert not verdict.accepted and verdict.edge_cases is None
