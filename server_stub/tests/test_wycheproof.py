"""Every Wycheproof ECDSA P-256/SHA-256 vector through the server's acceptance rule, held against the
verdict of the JDK that runs the real server (server_stub/tests/data/wycheproof_jca.json, made by
`python -m interop.jca`), not against Wycheproof's strict verdict.

The JDK and Wycheproof differ on five vectors, listed in that file and below: QuestDB accepts a DER
INTEGER without its sign byte (der-6), and rejects four valid signatures whose x-coordinate needs a
reduction mod n. The stub gives the JDK's verdict on all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from shared_inputs import shared_dir

from server_stub.signature import verify_signature

FILES = {
    "der": "ecdsa_secp256r1_sha256_test.json",
    "p1363": "ecdsa_secp256r1_sha256_p1363_test.json",
}
JDK = json.loads((Path(__file__).parent / "data" / "wycheproof_jca.json").read_text("utf-8"))
DIFFER = {d["id"]: d for d in JDK["differ_from_wycheproof"]}


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
                test_id = f"{encoding}-{test['tcId']}"
                cases.append(pytest.param((point, test_id, test), id=test_id))
    return cases


CASES = _cases()


def test_vector_count():
    """484 DER + 262 P1363, every one with a recorded JDK verdict."""
    if CASES[0].values[0] is None:
        pytest.skip(CASES[0].marks[0].kwargs["reason"])
    assert len(CASES) == 746 == JDK["tests"] == len(JDK["verdicts"])
    assert {case.values[0][1] for case in CASES} == set(JDK["verdicts"])


def test_where_the_jdk_and_wycheproof_differ():
    assert sorted(DIFFER) == ["der-350", "der-479", "der-6", "p1363-115", "p1363-257"]
    assert DIFFER["der-6"]["jdk"] == "accept" and "MissingZero" in DIFFER["der-6"]["flags"]
    assert all(DIFFER[i]["jdk"] == "reject" for i in DIFFER if i != "der-6")


@pytest.mark.parametrize("case", CASES)
def test_vector(case):
    (x, y), test_id, test = case
    public_key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    accepted = verify_signature(public_key, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
    jdk = JDK["verdicts"][test_id]
    assert accepted == jdk["accepted"], f"the JDK: {jdk['why']}; Wycheproof: {test['result']}, {test['comment']}"
