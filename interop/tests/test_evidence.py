"""Stopping on evidence (evidence.py), one stub shared by many examples (shared_stub.py, example_keys.py),
and the flake report of --repeat (flakes.py)."""

from __future__ import annotations

import json
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from interop.batches import run_until_evidence
from interop.evidence import EdgeCase, EvidenceError, Rule, Tally, handshakes_for, load_evidence, p_missed
from interop.example_keys import auth_tokens, write_example_keys
from interop.fixture import expected_for
from interop.flakes import flake_report
from interop.paths import EVIDENCE, private_key_copies
from interop.registry import Client
from interop.robustness import FaultResult, fault_config, load_faults, run_fault
from interop.schedule import Outcome
from interop.shared_stub import SharedStub

R_SHORT, S_SHORT = "r_below_2^248", "s_below_2^248"


def _raw(id: str, **overrides) -> Client:
    """The Python raw-handshake example under its own id, run by this interpreter (no venv needed)."""
    return Client(**({"id": id, "language": "python", "environment": "python", "run": ["{python}", "python/raw_p1363.py"],
                      "encoding": "p1363", "signs": "raw", "rows": "ilp"} | overrides))


def test_the_file_loads_and_its_cap_alone_bounds_p_missed():
    rule = load_evidence()
    assert rule.k >= 1 and rule.batch <= rule.cap
    assert p_missed(rule.cap) <= rule.max_p_missed
    assert [c.code for c in rule.relevant("p1363")] == [R_SHORT, S_SHORT]
    assert {c.code for c in rule.relevant("der")} == {R_SHORT, S_SHORT, "r_top_bit", "s_top_bit"}
    assert handshakes_for(0.01) == 588 and p_missed(588) <= 0.01 < p_missed(587)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("cap = 1800", "cap = 500", "cap = 500: below 588"),
    ("k = 1", "k = 0", "k = 0: must be at least 1"),
    ("batch = 200", "batch = 2000", "batch = 2000: must be from 1 to cap"),
    ('code = "s_top_bit"', 'code = "s_top_bits"', "s_top_bits"),
    ("batch = 200", "batchs = 200", "unknown keys ['batchs']"),
])
def test_a_broken_rule_names_the_file_and_the_key(tmp_path, old, new, message):
    text = EVIDENCE.read_text()
    assert old in text
    path = tmp_path / "evidence.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(EvidenceError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_evidence(path)


def _tally(*edge_cases: list[str], accepted: bool = True) -> Tally:
    tally = Tally()
    for cases in edge_cases:
        tally.add({"accepted": accepted, "edge_cases": cases})
    return tally


def test_a_run_stops_once_every_edge_case_of_its_encoding_was_seen_k_times_or_at_the_cap():
    rule = replace(load_evidence(), k=2, cap=10, batch=4)
    half = _tally([R_SHORT], [R_SHORT, S_SHORT])
    assert [c.code for c in rule.missing("p1363", half)] == [S_SHORT] and not rule.done("p1363", half)
    both = _tally([R_SHORT], [R_SHORT, S_SHORT], [S_SHORT])
    assert rule.done("p1363", both) and rule.stopped_by("p1363", both) == "evidence"
    assert not rule.done("der", both)  # DER also needs the top bits
    capped = _tally(*[[]] * 10)
    assert rule.done("p1363", capped) and rule.stopped_by("p1363", capped) == "cap"
    assert rule.next_batch(_tally(*[[]] * 8)) == 2  # never past the cap
    broken = _tally([R_SHORT], accepted=False)
    assert broken.seen[R_SHORT] == broken.broke[R_SHORT] == 1


def test_examples_share_one_stub_each_attributed_by_its_key_id(tmp_path):
    """Two examples at once against one stub: each gets exactly its own connections, rows intact, and
    its run ends on the rule (here: an edge case one signature in two exercises, so the evidence comes)."""
    top = EdgeCase("r_top_bit", "r top bit", ("p1363",), 0.5)
    rule = Rule(batch=10, k=1, cap=100, max_p_missed=0.01, edge_cases=(top,))
    clients = [_raw("first-raw"), _raw("second-raw", key="testUser2")]
    auth, jwks = write_example_keys(clients, private_key_copies(tmp_path / "keys"), tmp_path / "run-keys")
    stub = SharedStub("plain", auth, tmp_path / "events.jsonl").start()
    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda c: run_until_evidence(c, stub, jwks[c.id], rule, tmp_path,
                                                                 expected_for(c)), clients))
        assert stub.unattributed() == 0
        mine = [set(stub.connections(c.id)) for c in clients]
    finally:
        stub.stop()
    assert not mine[0] & mine[1]
    for client, result, conns in zip(clients, results, mine, strict=True):
        assert result.passed, result.failures
        assert result.stopped == "evidence" and result.handshakes == len(conns) == 10 * len(result.runs)
        # It stopped at the first batch after the one in which the edge case first came.
        ordered = sorted(stub.connections(client.id).items())
        first = next(i for i, (_, c) in enumerate(ordered) if "r_top_bit" in c.auth["edge_cases"])
        assert len(result.runs) == first // rule.batch + 1
        assert result.rows_intact == result.accepted == result.handshakes


def test_the_run_keys_are_private_and_keep_the_registered_auth_line(tmp_path):
    clients = [_raw("first-raw"), _raw("second-raw", key="testUser2")]
    auth, jwks = write_example_keys(clients, private_key_copies(tmp_path / "keys"), tmp_path / "run-keys")
    tokens = auth_tokens(auth)
    registered = auth_tokens()
    assert tokens["second-raw"] == registered["testUser2"]  # x kept as 33 bytes with its leading zero
    assert tokens["testUser1"] == tokens["first-raw"] == registered["testUser1"]  # the negative matrix's kids stay
    for client in clients:
        assert stat.S_IMODE(jwks[client.id].stat().st_mode) == 0o600
        assert json.loads(jwks[client.id].read_text())["kid"] == client.id


def test_a_fault_column_needs_one_stub_for_many_examples(tmp_path):
    spec = load_faults()
    fault = next(f for f in spec["fault"] if f["name"] == "no-challenge")
    clients = [_raw("first-raw"), _raw("second-raw")]
    auth, jwks = write_example_keys(clients, private_key_copies(tmp_path / "keys"), tmp_path / "run-keys")
    stub = SharedStub("no-challenge", auth, tmp_path / "fault.jsonl", **fault_config(fault)).start()
    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda c: run_fault(c, fault, spec, stub, jwks[c.id], tmp_path), clients))
    finally:
        stub.stop()
    for result in results:
        assert result.outcome == "fails clearly", result.evidence
        assert "reading the challenge" in result.evidence


def _outcome(result: str, close: str) -> Outcome:
    client = _raw("first-raw")
    fault = {"name": "close-after-challenge", "column": "close@chal.", "varies": "a reason"}
    other = {"name": "no-challenge", "column": "no chal."}

    class Judged:  # what flakes.py reads of a ClientResult
        def __init__(self, passed):
            self.client, self.passed = client, passed

    return Outcome(clients=[Judged(result == "PASS")],
                   faults=[FaultResult(client, fault, close, None), FaultResult(client, other, "fails clearly", None)])


def test_the_flake_report_counts_changed_cells_but_not_a_column_that_legitimately_varies():
    count, text = flake_report([_outcome("PASS", "survives"), _outcome("PASS", "fails clearly")])
    assert count == 0 and "1 in columns that legitimately vary" in text and "first-raw / close@chal." in text
    count, text = flake_report([_outcome("PASS", "survives"), _outcome("FAIL", "survives"), _outcome("PASS", "hangs")])
    assert count == 2, text
    assert "first-raw / result" in text and "PASS x2, FAIL x1" in text and "P F P" in text
    assert "first-raw / close@chal." in text  # hangs is not an acceptable outcome, varies or not


def test_progress_prints_plain_lines_without_a_terminal(capsys):
    from interop.progress import RunProgress

    rule = load_evidence()
    with RunProgress(live=False) as progress:
        progress.phase("examples", 2)
        progress.batch("first-raw", "p1363", _tally([R_SHORT]), rule)
        progress.step("examples")
        progress.line("done first-raw: 200 handshakes")
    assert capsys.readouterr().out == "done first-raw: 200 handshakes\n"


def test_live_progress_draws_through_rich_and_keeps_the_log_lines(capsys):
    from interop.progress import RunProgress

    rule = load_evidence()
    with RunProgress(live=True) as progress:
        progress.phase("examples", 1)
        progress.batch("first-raw", "p1363", _tally([R_SHORT]), rule)
        progress.line("done first-raw: 200 handshakes")
        progress.finished("first-raw")
        progress.step("examples")
    out = capsys.readouterr().out
    assert "done first-raw: 200 handshakes" in out


def test_the_run_auth_file_is_written_where_asked(tmp_path):
    auth, _ = write_example_keys([_raw("first-raw")], private_key_copies(tmp_path / "k"), tmp_path / "run")
    assert auth == tmp_path / "run" / "auth.txt" and Path(auth).read_text().count("first-raw ec-p-256-sha256") == 1
