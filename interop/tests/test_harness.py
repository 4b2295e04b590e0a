"""The harness end to end on the Python side: the reference signer's negative matrix against a real
stub process, and the judge on synthetic events (so its failures are proven to fire)."""

from __future__ import annotations

import json
import subprocess
import sys

from server_stub.records import by_connection

from interop.fixture import expected_rows, load_rows
from interop.judge import judge_client as _judge_client
from interop.judge import p_missed
from interop.paths import REPO
from interop.process import Finished
from interop.registry import Client
from interop.run_example import run_example


def test_p_missed_matches_the_issue_threshold():
    assert p_missed(1800) < 1e-6 < p_missed(1700)


def test_negative_matrix_passes_against_the_stub(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "interop", "negative", "--build-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("interop: 17 passed, 0 failed")
    report = (tmp_path / "interop" / "report.md").read_text()
    assert "short_raw_signature" in report
    junit = (tmp_path / "interop" / "junit.xml").read_text()
    assert 'tests="17"' in junit and 'failures="0"' in junit


def _client(**overrides) -> Client:
    fields = {"id": "c", "language": "python", "environment": "e", "run": ["x"], "encoding": "p1363",
              "signs": "raw", "rows": "ilp"}
    return Client(**(fields | overrides))


def _events(n: int, rows: list[dict], encoding="p1363", accepted=True, reason_code=None, first=1) -> list[dict]:
    events = []
    for conn in range(first, first + n):
        events.append({"event": "connect", "conn": conn, "peer": f"127.0.0.1:{conn}"})
        events.append({"event": "auth", "conn": conn, "kid": "k", "accepted": accepted, "encoding": encoding,
                       "reason_code": reason_code, "reason": "r", "hint": "h"})
        events += [{"event": "row", "conn": conn, **r} for r in (rows if accepted else [])]
        events.append({"event": "close", "conn": conn, "cause": "peer_closed"})
    return events


RUN_OK = Finished(["x"], 0, "", "", 0.1, 10)


def judge_client(client, connections, run, events, rows, rule=None):
    """The judge over one run and its events, as the harness calls it after grouping them."""
    return _judge_client(client, connections, [run], by_connection(events), rows, rule)
ROWS = expected_rows(load_rows())


def test_judge_passes_intact_rows():
    result = judge_client(_client(), 3, RUN_OK, _events(3, ROWS), ROWS)
    assert result.passed and (result.handshakes, result.accepted, result.rows_intact) == (3, 3, 3)


def test_judge_fails_on_wrong_encoding_altered_rows_missing_handshakes_and_exit_code():
    assert not judge_client(_client(encoding="der"), 3, RUN_OK, _events(3, ROWS), ROWS).passed
    altered = json.loads(json.dumps(ROWS))
    altered[0]["columns"]["count"]["value"] = 43
    result = judge_client(_client(), 3, RUN_OK, _events(3, altered), ROWS)
    assert not result.passed and "'count' = 43" in result.failures[0]
    assert "stub events of that connection" in result.failures[0]
    assert not judge_client(_client(), 4, RUN_OK, _events(3, ROWS), ROWS).passed
    crashed = Finished(["x"], 1, "", "boom", 0.1, 10)
    result = judge_client(_client(), 3, crashed, _events(3, ROWS), ROWS)
    assert not result.passed and "boom" in result.failures[-1]


def test_judge_anti_example_needs_its_defect():
    anti = _client(id="wrong", expect="defective", defect="short_raw_signature")
    events = _events(2, ROWS) + _events(1, ROWS, accepted=False, reason_code="short_raw_signature", first=3)
    result = judge_client(anti, 3, RUN_OK, events, ROWS)
    assert result.passed and result.reasons["short_raw_signature"] == 1
    assert not judge_client(anti, 2, RUN_OK, _events(2, ROWS), ROWS).passed  # defect not seen


def test_run_example_gives_the_contract_variables_and_no_stray_ones(tmp_path, monkeypatch):
    """ILP_TIMEOUT_S and ILP_PROTOCOL_VERSION come from the harness and the registry entry; an ILP_*
    variable of the caller's shell (a TLS CA, say) never leaks into an example."""
    monkeypatch.setenv("ILP_TLS_CA", "/somewhere/ca.pem")
    show = "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('ILP_')}))"
    client = _client(run=["{python}", "-c", show], protocol_version=1)
    run = run_example(client, tmp_path, "127.0.0.1", 9, tmp_path / "k.json", 3, timeout=30, example_timeout=4.0)
    assert run.exit_code == 0, run.describe()
    assert json.loads(run.stdout) == {
        "ILP_HOST": "127.0.0.1", "ILP_PORT": "9", "ILP_KEY": str(tmp_path / "k.json"), "ILP_ROWS": str(client.rows_path),
        "ILP_CONNECTIONS": "3", "ILP_TIMEOUT_S": "4", "ILP_PROTOCOL_VERSION": "1"}
    default = run_example(client, tmp_path, "127.0.0.1", 9, tmp_path / "k.json", 1, timeout=30)
    assert json.loads(default.stdout)["ILP_TIMEOUT_S"] == "10"


def test_judge_fails_an_acceptance_that_only_questdbs_leniency_gives():
    events = _events(2, ROWS)
    auth = next(e for e in events if e["event"] == "auth")
    auth.update(warning_code="der_missing_sign_byte", warning="the DER INTEGER of s lacks its sign byte")
    result = judge_client(_client(), 2, RUN_OK, events, ROWS)
    assert not result.passed and "accepted with a warning: der_missing_sign_byte" in result.failures[0]


def test_key_copies_are_private_from_the_start_whatever_the_umask(tmp_path):
    import os
    import stat

    from interop.paths import KEYS, private_key_copies

    old = os.umask(0)  # the most permissive umask: the mode must still be 0600
    try:
        copies = private_key_copies(tmp_path / "keys")
    finally:
        os.umask(old)
    assert set(copies) == {"testUser1", "testUser2"}
    for kid, path in copies.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == (KEYS / f"{kid}.jwk.json").read_bytes()


def test_the_matrix_counts_the_edge_cases_each_example_exercised_and_those_that_broke():
    from interop.evidence import load_evidence
    from interop.matrix import edge_cases_seen

    rule = load_evidence()

    anti = _client(id="wrong", expect="defective", defect="short_raw_signature")
    events = _events(2, ROWS) + _events(1, ROWS, accepted=False, reason_code="short_raw_signature", first=3)
    for event in events:
        if event["event"] == "auth":
            event["edge_cases"] = ["r_below_2^248"] if event["conn"] != 2 else ["s_below_2^248"]
    result = judge_client(anti, 3, RUN_OK, events, ROWS)
    assert edge_cases_seen(result, rule) == "r<2^248 2 (1 broke), s<2^248 1"
    der = judge_client(_client(encoding="der"), 3, RUN_OK, _events(3, ROWS, encoding="der"), ROWS)
    assert edge_cases_seen(der, rule) == "r<2^248 0, s<2^248 0, r top bit 0, s top bit 0"


def test_an_example_that_ends_with_neither_evidence_nor_the_bound_fails():
    """A rule whose cap was lowered (a data file edited past its loader, say) must not pass an example that
    saw no edge case in too few handshakes: the judge checks what the loader promised."""
    from dataclasses import replace

    from interop.evidence import load_evidence

    rule = replace(load_evidence(), cap=3, batch=3)
    result = judge_client(_client(), 3, RUN_OK, _events(3, ROWS), ROWS, rule)
    assert not result.passed and result.stopped == "cap"
    assert "not enough evidence: r<2^248, s<2^248 seen fewer than 1 times" in result.failures[0]
    events = _events(3, ROWS)
    for event in events:
        if event["event"] == "auth":
            event["edge_cases"] = ["r_below_2^248", "s_below_2^248"]
    assert judge_client(_client(), 3, RUN_OK, events, ROWS, rule).passed
