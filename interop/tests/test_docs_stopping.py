"""When a documentation snippet's repetitions stop (interop/docs/stopping.py): the rule on synthetic
tallies, then repeat.py against a real in-process stub with a synthetic client that picks its
signatures, so that the edge cases come (or never come) on purpose."""

from __future__ import annotations

import sys
import textwrap
from collections import Counter
from dataclasses import replace

import pytest

from interop.docs.clients import Prepared
from interop.docs.repeat import repeat
from interop.docs.stopping import MAX_RUNS, edge_cases_text, encoding_of, stop_reason
from interop.evidence import Tally, load_evidence
from interop.paths import AUTH_DB, DEFAULT_JWK
from server_stub import run_stub

R_SHORT, S_SHORT, R_TOP, S_TOP = "r_below_2^248", "s_below_2^248", "r_top_bit", "s_top_bit"


def _tally(*edge_cases: list[str], accepted: bool = True) -> Tally:
    tally = Tally()
    for cases in edge_cases:
        tally.add({"accepted": accepted, "edge_cases": cases})
    return tally


def test_evidence_ends_a_repetition_before_the_cap_and_the_budget():
    rule = replace(load_evidence(), cap=10)
    both = _tally([R_SHORT], [S_SHORT])
    assert stop_reason(rule, "p1363", both, runs=2, elapsed=0.1, budget=60) == "evidence"
    assert stop_reason(rule, "p1363", both, runs=2, elapsed=99, budget=60) == "evidence"  # evidence is said first
    assert stop_reason(rule, "der", both, runs=2, elapsed=0.1, budget=60) is None  # DER needs the top bits too
    der = _tally([R_SHORT, R_TOP], [S_SHORT, S_TOP])
    assert stop_reason(rule, "der", der, runs=2, elapsed=0.1, budget=60) == "evidence"
    assert stop_reason(rule, "p1363", both, runs=0, elapsed=99, budget=0) is None  # at least one run


def test_the_cap_counts_handshakes_and_runs():
    rule = replace(load_evidence(), cap=10)
    assert stop_reason(rule, "p1363", _tally(*[[]] * 10), runs=10, elapsed=0.1, budget=60) == "cap"
    assert stop_reason(rule, "p1363", _tally(*[[]] * 9), runs=9, elapsed=0.1, budget=60) is None
    assert stop_reason(rule, None, Tally(), runs=MAX_RUNS, elapsed=0.1, budget=60) == "cap"  # no handshake at all


def test_the_budget_ends_only_a_repetition_short_of_three_quarters_of_the_cap():
    rule = replace(load_evidence(), cap=12)
    assert stop_reason(rule, "p1363", _tally(*[[]] * 8), runs=8, elapsed=60, budget=60) == "budget"
    assert stop_reason(rule, "p1363", _tally(*[[]] * 8), runs=8, elapsed=59.9, budget=60) is None
    # from 3/4 of the cap on, the cap is at most a third of a budget away at its pace: counts decide
    assert stop_reason(rule, "p1363", _tally(*[[]] * 9), runs=9, elapsed=60, budget=60) is None
    assert stop_reason(rule, None, Tally(), runs=3, elapsed=60, budget=60) == "budget"  # no encoding recorded


def test_the_encoding_is_the_accepted_handshakes_one():
    # the Go snippet's unpadded raw r||s (63 bytes) is parsed as DER and rejected: it is still a p1363 snippet
    assert encoding_of(Counter(p1363=126), Counter(p1363=126, der=2)) == "p1363"
    assert encoding_of(Counter(), Counter(der=3, p1363=1)) == "der"
    assert encoding_of(Counter(), Counter()) is None


def test_the_edge_cases_read_as_the_matrix_column():
    rule = load_evidence()
    tally = _tally([R_SHORT], accepted=False)
    assert edge_cases_text(rule, "p1363", tally) == "r<2^248 1 (1 broke), s<2^248 0"
    assert edge_cases_text(rule, None, tally) == "-"


# --- repeat.py against the stub, with a client that chooses its signatures --------------------------------

CLIENT = '''
import base64, json, socket, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

jwk = json.loads(open({jwk!r}).read())
key = ec.derive_private_key(int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="), "big"), ec.SECP256R1())
SMALL = 1 << 248

def signature(challenge, wanted):
    """Raw r||s over the challenge whose scalars are as `wanted` says (signing again until they are)."""
    while True:
        r, s = decode_dss_signature(key.sign(challenge, ec.ECDSA(hashes.SHA256())))
        if wanted(r, s):
            if {unpadded!r} and r < SMALL:  # the Go snippet's defect: minimal-length bytes
                return r.to_bytes((r.bit_length() + 7) // 8, "big") + s.to_bytes(32, "big")
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")

for wanted in {wanted}:
    with socket.create_connection(("127.0.0.1", {port}), timeout=5) as conn:
        conn.sendall(b"testUser1\\n")
        challenge = b""
        while not challenge.endswith(b"\\n"):
            challenge += conn.recv(1024)
        conn.sendall(base64.b64encode(signature(challenge[:-1], wanted)) + b"\\ndocs_check ok=true\\n")
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1024)
'''
# one connection whose r is below 2^248 (and s not), then one whose s is (and r not): both edge cases in one run
SHORT_R_THEN_SHORT_S = "[lambda r, s: (1 << 240) <= r < SMALL <= s, lambda r, s: (1 << 240) <= s < SMALL <= r]"
NEITHER = "lambda r, s: r >= SMALL and s >= SMALL"


def _client(tmp_path, port: int, wanted: str, unpadded: bool = False) -> Prepared:
    folder = tmp_path / "snippet"
    folder.mkdir(exist_ok=True)
    (folder / "snippet.py").write_text(textwrap.dedent(CLIENT).format(jwk=str(DEFAULT_JWK), port=port, wanted=wanted,
                                                                     unpadded=unpadded))
    return Prepared([sys.executable, "snippet.py"], folder)


@pytest.mark.timeout(120)
def test_a_snippet_whose_signatures_show_the_edge_cases_stops_on_evidence(tmp_path):
    with run_stub(AUTH_DB) as stub:
        verdict = repeat("newest", _client(tmp_path, stub.port, SHORT_R_THEN_SHORT_S), stub, 60, [])
    assert (verdict.verdict, verdict.stopped, verdict.runs, verdict.handshakes) == ("PASS", "evidence", 1, 2), \
        (verdict.detail, verdict.evidence)
    assert verdict.encoding == "p1363" and verdict.tally.seen[R_SHORT] >= 1 and verdict.tally.seen[S_SHORT] >= 1
    assert "stopped on evidence" in verdict.detail


@pytest.mark.timeout(120)
def test_a_defect_on_an_edge_case_is_caught_on_evidence_whatever_the_budget(tmp_path):
    with run_stub(AUTH_DB) as stub:
        verdict = repeat("newest", _client(tmp_path, stub.port, SHORT_R_THEN_SHORT_S, unpadded=True), stub, 0, [])
    assert (verdict.verdict, verdict.stopped, verdict.rejected) == ("FLAKY", "evidence", 1), (verdict.detail, verdict.evidence)
    assert verdict.reasons == Counter(short_raw_signature=1) and verdict.tally.broke[R_SHORT] == 1
    assert verdict.edge_cases.startswith("r<2^248 1 (1 broke), s<2^248 ")
    assert "stub events of its first rejected connection" in verdict.evidence and '"short_raw_signature"' in verdict.evidence


@pytest.mark.timeout(120)
def test_a_snippet_that_never_shows_them_stops_on_the_budget(tmp_path):
    with run_stub(AUTH_DB) as stub:
        verdict = repeat("newest", _client(tmp_path, stub.port, f"[{NEITHER}]"), stub, 1.0, [])
    assert (verdict.verdict, verdict.stopped) == ("PASS", "budget"), (verdict.detail, verdict.evidence)
    assert verdict.runs >= 2 and verdict.handshakes == verdict.runs and verdict.seconds >= 1.0
    assert verdict.edge_cases == "r<2^248 0, s<2^248 0"


@pytest.mark.timeout(120)
def test_near_the_cap_the_budget_gives_way_to_the_cap(tmp_path):
    rule = replace(load_evidence(), cap=4)
    with run_stub(AUTH_DB) as stub:  # three handshakes a run: 3/4 of the cap after the first, past it after the second
        verdict = repeat("newest", _client(tmp_path, stub.port, f"[{NEITHER}] * 3"), stub, 0, [], rule)
    assert (verdict.verdict, verdict.stopped, verdict.runs, verdict.handshakes) == ("PASS", "cap", 2, 6), verdict.detail
    with run_stub(AUTH_DB) as stub:  # two a run: short of it, so the budget (0 s) ends the first run
        verdict = repeat("newest", _client(tmp_path, stub.port, f"[{NEITHER}] * 2"), stub, 0, [], rule)
    assert (verdict.stopped, verdict.runs) == ("budget", 1), verdict.detail
