"""Every Wycheproof ECDSA P-256/SHA-256 vector through the server's acceptance rule.

The rule (64 decoded bytes = raw r||s, anything else = strict DER, all-zero rejected) must accept
every "valid" and reject every "invalid" test of both files, each fed as it is.
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from shared_inputs import shared_dir

from server_stub.signature import verify_signature

FILES = {
    "der": "ecdsa_secp256r1_sha256_test.json",
    "p1363": "ecdsa_secp256r1_sha256_p1363_test.json",
}


def _cases():
    folder = shared_dir() / "vectors" / "wycheproof"
    if not folder.is_dir():
        reason = f"Wycheproof vectors not found at {folder} (set ILP_SHARED_DIR to the shared folder)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="vectors-missing")]
    cases = []
    for encoding, name in FILES.items():
        data = json.loads((folder / name).read_text())
        for group in data["testGroups"]:
            assert group["sha"] == "SHA-256"
            point = (int(group["publicKey"]["wx"], 16), int(group["publicKey"]["wy"], 16))
            for test in group["tests"]:
                cases.append(pytest.param((point, test), id=f"{encoding}-{test['tcId']}"))
    return cases


CASES = _cases()


def test_vector_count():
    """The issue names 746 tests: 484 DER + 262 P1363."""
    if CASES[0].values[0] is None:
        pytest.skip(CASES[0].marks[0].kwargs["reason"])
    assert len(CASES) == 746


@pytest.mark.parametrize("case", CASES)
def test_vector(case):
    (x, y), test = case
    public_key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    accepted = verify_signature(public_key, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
    assert test["result"] in ("valid", "invalid"), test  # neither file has "acceptable" cases
    assert accepted == (test["result"] == "valid"), f"{test['comment']} {test['flags']}"
