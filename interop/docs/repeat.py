"""Runs a prepared client snippet again and again within a time budget; the verdict comes from the
stub's events for the connections each run made."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from server_stub.records import Connection, by_connection

from ..judge import p_missed
from ..process import Finished
from .clients import Prepared, evidence, key_line, output, run

RUN_TIMEOUT = 30.0  # one run of a snippet; a client that waits forever on a silent server is killed
MAX_RUNS = 3000  # bounds the events kept in memory for a very fast snippet
SETTLE = 2.0  # seconds to wait for the stub to record the close of a run's connections


@dataclass
class Verdict:
    label: str  # "newest", "replacement" or "older major": which attempt this is
    verdict: str  # one of data.VERDICTS
    detail: str = ""  # one line for the table
    evidence: str = ""
    versions: dict = field(default_factory=dict)
    substitutions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    runs: int = 0
    handshakes: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    hints: dict = field(default_factory=dict)
    prepared: Prepared | None = field(default=None, repr=False)  # to run it again (under faults)
    tls: bool = False  # the snippet asked for TLS and ran against the TLS stub
    own_keys: dict = field(default_factory=dict)  # the snippet's own keys the stub served (own_keys.py)

    @property
    def p_missed(self) -> float:
        return p_missed(self.handshakes - self.rejected)


def not_installed(label: str, prepared: Prepared, substitutions: list[str]) -> Verdict:
    return Verdict(label, prepared.verdict, _first_line(prepared.detail, 160), prepared.evidence,
                   prepared.versions, substitutions, prepared.notes)


def repeat(label: str, prepared: Prepared, stub, budget: float, substitutions: list[str]) -> Verdict:
    """Run until the budget is spent (at least once); judge every run's connections."""
    verdict = Verdict(label, "PASS", versions=prepared.versions, substitutions=substitutions, notes=list(prepared.notes),
                      prepared=prepared)
    deadline = time.monotonic() + budget
    failures: list[Finished] = []
    last: Finished | None = None
    rows_lost = 0
    accepted_conns = 0
    while verdict.runs == 0 or (time.monotonic() < deadline and verdict.runs < MAX_RUNS):
        before = len(stub.events())
        finished = last = run(prepared.command, prepared.cwd, RUN_TIMEOUT, prepared.env)
        verdict.runs += 1
        conns = _connections(stub, before)
        for conn in conns.values():
            auth = conn.auth
            if auth is None:
                continue
            verdict.handshakes += 1
            if not auth["accepted"]:
                verdict.rejected += 1
                verdict.reasons[auth["reason_code"]] += 1
                verdict.hints.setdefault(auth["reason_code"], (auth["reason"], auth["hint"]))
            else:
                accepted_conns += 1
                if not conn.rows or conn.ilp_errors:
                    rows_lost += 1
        if not finished.ok:
            failures.append(finished)
            if verdict.runs == 1 or len(failures) >= 3:
                break  # a snippet that fails at once fails; three failures are evidence enough
    return _judge(verdict, failures, last, rows_lost, accepted_conns)


def _judge(verdict: Verdict, failures: list[Finished], last: Finished, rows_lost: int, accepted_conns: int) -> Verdict:
    n, k = verdict.handshakes, verdict.rejected
    reasons = ", ".join(f"{code} x{count}" for code, count in verdict.reasons.most_common())
    if failures and len(failures) == verdict.runs:
        verdict.verdict = "FAILS TO RUN"
        verdict.detail = _first_line(evidence(failures[0]).splitlines()[-1], 160)
        verdict.evidence = evidence(failures[0]) + _output_tail(failures[0])
    elif n == 0:
        verdict.verdict = "FAILS TO RUN"
        said = key_line(output(last)) if output(last).strip() else "it printed nothing"
        verdict.detail = _first_line(f"the snippet never completed a handshake with the stub: {said}", 160)
        verdict.evidence = f"{last.command_line}\n{last.status} without a handshake; its output:" + _output_tail(last)
    elif k == n:
        verdict.verdict = "REJECTED"
        verdict.detail = f"all {n} handshakes rejected: {reasons}"
    elif k:
        verdict.verdict = "FLAKY"
        verdict.detail = f"{k} of {n} handshakes rejected: {reasons}"
    elif failures:
        verdict.verdict = "FLAKY"
        verdict.detail = f"{len(failures)} of {verdict.runs} runs failed: {_first_line(evidence(failures[0]), 120)}"
        verdict.evidence = evidence(failures[0]) + _output_tail(failures[0])
    elif rows_lost:
        verdict.verdict = "ROWS LOST"
        verdict.detail = f"{rows_lost} of {accepted_conns} accepted connections delivered no rows or a malformed line"
    else:
        verdict.detail = f"{n} handshakes accepted in {verdict.runs} runs, rows arrived"
    for code, (reason, hint) in verdict.hints.items():
        verdict.evidence += f"\n{code}: {reason}\n  hint: {hint}"
    return verdict


def _connections(stub, before: int) -> dict[int, Connection]:
    """The connections opened since event number `before`, once all have closed."""
    deadline = time.monotonic() + SETTLE
    while True:
        conns = by_connection(stub.events()[before:])
        if all(c.close is not None for c in conns.values()) or time.monotonic() > deadline:
            return {n: c for n, c in conns.items() if c.connect is not None}
        time.sleep(0.01)


def _first_line(text: str, limit: int) -> str:
    line = next((line for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _output_tail(finished: Finished | None, lines: int = 8) -> str:
    if finished is None:
        return "(no output)"
    tail = output(finished).strip().splitlines()[-lines:]
    return "\n" + "\n".join(tail) if tail else "\n(no output)"
