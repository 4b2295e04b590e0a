"""Verdicts from the stub's events only: per example run, and per negative case."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from server_stub.records import Connection

from .evidence import Rule, Tally, p_missed
from .fixture import diff_rows, row_fields
from .process import Finished
from .registry import Client

__all__ = ["CaseResult", "ClientResult", "judge_case", "judge_client", "p_missed", "run_failed"]


@dataclass
class ClientResult:
    client: Client
    connections: int  # requested over every run
    runs: list[Finished]  # one per batch (evidence.py), in order
    handshakes: int = 0
    accepted: int = 0
    rows_intact: int = 0
    encodings: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    tally: Tally = field(default_factory=Tally)  # the edge cases over every handshake, and those that broke
    stopped: str = ""  # "evidence" or "cap" (evidence.Rule.stopped_by); "" when a run failed first
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def p_missed(self) -> float:
        return p_missed(self.accepted)

    @property
    def defect_rate(self) -> float:
        return (self.handshakes - self.accepted) / self.handshakes if self.handshakes else 0.0

    @property
    def seconds(self) -> float:
        return sum(run.seconds for run in self.runs)

    @property
    def edge_cases(self) -> Counter:
        return self.tally.seen

    @property
    def edge_cases_broken(self) -> Counter:
        return self.tally.broke


def judge_client(client: Client, connections: int, runs: list[Finished], conns: dict[int, Connection],
                 expected_rows: list[dict], rule: Rule | None = None) -> ClientResult:
    """The verdict on an example from its runs and the connections the stub attributed to it; with `rule`
    (evidence.py), the run must also have ended on evidence or with P(missed) within its bound."""
    result = ClientResult(client, connections, runs)
    first_bad_conn = None
    for conn, seen in sorted(conns.items()):
        auth = seen.auth
        if auth is None:
            continue
        result.handshakes += 1
        result.encodings[auth["encoding"]] += 1
        result.tally.add(auth)
        problems = []
        if auth["accepted"]:
            result.accepted += 1
            if "warning_code" in auth:  # accepted only as QuestDB's lenient verifier accepts: strict ones would not
                problems.append(f"accepted with a warning: {auth['warning_code']}: {auth['warning']}")
            if auth["encoding"] != client.encoding:
                problems.append(f"encoding {auth['encoding']}, registered {client.encoding}")
            row_problems = diff_rows(expected_rows, [row_fields(e) for e in seen.rows])
            row_problems += [f"ilp_error: {e['error']} in {e['text']!r}" for e in seen.ilp_errors]
            if row_problems:
                problems += row_problems
            else:
                result.rows_intact += 1
        else:
            result.reasons[auth["reason_code"]] += 1
            if client.expect != "defective" or auth["reason_code"] != client.defect:
                problems.append(f"rejected: {auth['reason_code']}: {auth['reason']} (hint: {auth['hint']})")
        if problems and first_bad_conn is None:
            first_bad_conn = conn
            result.failures.append(f"connection {conn}: " + "; ".join(problems[:5])
                                   + "\nstub events of that connection:\n" + _events_text(seen.events))
    if result.handshakes != connections:
        result.failures.insert(0, f"{result.handshakes} handshakes recorded, {connections} requested")
    failed_run = next((run for run in runs if run_failed(client, run)), None)
    if client.expect == "defective":
        if not result.reasons[client.defect]:
            result.failures.append(f"defect {client.defect} not observed in {result.handshakes} handshakes")
        if failed_run is not None:
            result.failures.append("the anti-example did not finish (exit 0 or 1 expected)")
    elif failed_run is not None:
        result.failures.append("the example failed")
    if rule is not None and failed_run is None:
        result.stopped = rule.stopped_by(client.encoding, result.tally)
        if result.stopped == "cap" and client.expect != "defective" and result.p_missed > rule.max_p_missed:
            missing = ", ".join(case.shown for case in rule.missing(client.encoding, result.tally))
            result.failures.append(f"not enough evidence: {missing} seen fewer than {rule.k} times, and P(missed 1/128) "
                                   f"= {result.p_missed:.1e} after {result.accepted} accepted handshakes "
                                   f"(at most {rule.max_p_missed:g})")
    if result.failures:
        result.failures.append((failed_run or runs[-1]).describe() if runs else "the example never ran")
    return result


def run_failed(client: Client, run: Finished) -> bool:
    """Whether one run of the example failed: any exit but 0, or for an anti-example but 0 or 1 (it exits 1
    after a batch in which a connection failed, CLIENTS.md)."""
    return run.exit_code not in ({0, 1} if client.expect == "defective" else {0})


def _events_text(events: list[dict], limit: int = 12) -> str:
    lines = [json.dumps(e, ensure_ascii=False)[:400] for e in events[:limit]]
    if len(events) > limit:
        lines.append(f"... {len(events) - limit} more events")
    return "\n".join(lines)


@dataclass
class CaseResult:
    case: dict
    observed: dict
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def judge_case(case: dict, wire, conn: Connection | None, fixture_rows: int) -> CaseResult:
    """Compare one negative case's expectation with the wire and the stub's events of its connection."""
    expect = case["expect"]
    if conn is None or conn.auth is None:
        return CaseResult(case, {}, [f"no auth event for the connection from {wire.local_peer}"])
    auth = conn.auth
    observed = {
        "accepted": auth["accepted"],
        "reason_code": auth.get("reason_code"),
        "encoding": auth["encoding"],
        "challenge": wire.challenge_received,
        "closed_by_server": wire.closed_by_server,
        "rows": len(conn.rows),
        "reason": auth.get("reason"),
        "hint": auth.get("hint"),
        "warning_code": auth.get("warning_code"),
    }
    want = dict(expect)
    want.setdefault("warning_code", None)  # an acceptance with a warning must be expected by name
    want["rows"] = fixture_rows if want["rows"] == "all" else want["rows"]
    want["closed_by_server"] = not want["accepted"]
    failures = [f"{key}: observed {observed[key]!r}, expected {value!r}"
                for key, value in want.items() if observed.get(key) != value]
    if failures:
        failures.append("stub events of that connection:\n" + _events_text(conn.events))
    return CaseResult(case, observed, failures)
