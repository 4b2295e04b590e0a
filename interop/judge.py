"""Verdicts from the stub's events only: per example run, and per negative case."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from server_stub.records import Connection, Event, by_connection

from .fixture import diff_rows, row_fields
from .process import Finished
from .registry import Client

DEFECT_RATE = 1 / 128  # the unpadded-scalar defect: a leading zero byte in r or s


def p_missed(handshakes: int, rate: float = DEFECT_RATE) -> float:
    """Probability that n independent handshakes all pass although 1 in 128 would fail."""
    return (1 - rate) ** handshakes


@dataclass
class ClientResult:
    client: Client
    connections: int
    run: Finished
    handshakes: int = 0
    accepted: int = 0
    rows_intact: int = 0
    encodings: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    edge_cases: Counter = field(default_factory=Counter)  # the auth events' edge_cases, over every handshake
    edge_cases_broken: Counter = field(default_factory=Counter)  # those of the rejected handshakes
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


def judge_client(client: Client, connections: int, run: Finished, events: list[Event],
                 expected_rows: list[dict]) -> ClientResult:
    result = ClientResult(client, connections, run)
    first_bad_conn = None
    for conn, seen in sorted(by_connection(events).items()):
        auth = seen.auth
        if auth is None:
            continue
        result.handshakes += 1
        result.encodings[auth["encoding"]] += 1
        result.edge_cases.update(auth.get("edge_cases", ()))
        if not auth["accepted"]:
            result.edge_cases_broken.update(auth.get("edge_cases", ()))
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
    if client.expect == "defective":
        if not result.reasons[client.defect]:
            result.failures.append(f"defect {client.defect} not observed in {result.handshakes} handshakes")
        if run.exit_code not in (0, 1):
            result.failures.append("the anti-example did not finish (exit 0 or 1 expected)")
    elif run.exit_code != 0:
        result.failures.append("the example failed")
    if result.failures:
        result.failures.append(run.describe())
    return result


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
