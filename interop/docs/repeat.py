"""Runs a prepared client snippet again and again until the evidence is in, the cap or the time budget
is reached (stopping.py); the verdict comes from the stub's events for the connections each run made.

The stub must serve this snippet alone while it repeats (seats.py): every connection it records from
the first run on is the snippet's."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from server_stub.records import Connection, by_connection

from ..evidence import Rule, Tally, load_evidence
from ..judge import p_missed
from ..process import Finished
from .clients import Prepared, evidence, key_line, output, run
from .stopping import edge_cases_text, encoding_of, stop_reason

RUN_TIMEOUT = 30.0  # one run of a snippet; a client that waits forever on a silent server is killed
SETTLE = 2.0  # seconds to wait for the stub to record the close of a run's connections
SETTLE_POLL = 0.005  # seconds between two looks at the events while settling (a Go snippet runs in 5 ms)


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
    seat: object = field(default=None, repr=False)  # seats.Seat: where it ran, and so where its fault runs go
    connections: int = 0  # connections its stub recorded, with or without a handshake
    encodings: Counter = field(default_factory=Counter)  # of every handshake
    accepted_encodings: Counter = field(default_factory=Counter)  # of the accepted ones
    tally: Tally = field(default_factory=Tally)  # the edge cases its signatures exercised (evidence.py)
    stopped: str = ""  # stopping.py: evidence, cap or budget; "failure" when failed runs ended it
    seconds: float = 0.0  # of repetition
    edge_cases: str = ""  # "r<2^248 1, s<2^248 2": the matrix's edge-cases column (stopping.edge_cases_text)

    @property
    def p_missed(self) -> float:
        return p_missed(self.handshakes - self.rejected)

    @property
    def encoding(self) -> str | None:
        """As the stub recorded it (stopping.encoding_of)."""
        return encoding_of(self.accepted_encodings, self.encodings)


def not_installed(label: str, prepared: Prepared, substitutions: list[str]) -> Verdict:
    return Verdict(label, prepared.verdict, _first_line(prepared.detail, 160), prepared.evidence,
                   prepared.versions, substitutions, prepared.notes)


@cache
def _rule() -> Rule:
    return load_evidence()


def repeat(label: str, prepared: Prepared, stub, budget: float, substitutions: list[str], rule: Rule | None = None,
           progress: Callable[[Verdict], None] = lambda verdict: None) -> Verdict:
    """Run at least once, then until stopping.stop_reason says so (evidence, cap, budget) or failed runs
    end it; judge every run's connections. `stub` serves this snippet alone meanwhile (seats.py);
    `progress` hears the verdict so far after every run."""
    rule = rule or _rule()
    verdict = Verdict(label, "PASS", versions=prepared.versions, substitutions=substitutions, notes=list(prepared.notes),
                      prepared=prepared)
    started = time.monotonic()
    failures: list[Finished] = []
    last: Finished | None = None
    rows_lost = 0
    accepted_conns = 0
    first_rejected: Connection | None = None  # its events go into the evidence
    first_unjudged: Connection | None = None  # a connection without a handshake verdict (a TLS failure, a hang-up)
    read = 0  # the stub's events looked at so far
    while True:
        read += len(stub.log.since(read))  # anything recorded before this run is not its
        finished = last = run(prepared.command, prepared.cwd, RUN_TIMEOUT, prepared.env)
        verdict.runs += 1
        conns, read = _connections(stub, read)
        verdict.connections += len(conns)
        for conn in conns.values():
            auth = conn.auth
            if auth is None:
                first_unjudged = first_unjudged or conn
                continue
            verdict.handshakes += 1
            verdict.tally.add(auth)
            verdict.encodings[auth["encoding"]] += 1
            if not auth["accepted"]:
                verdict.rejected += 1
                verdict.reasons[auth["reason_code"]] += 1
                verdict.hints.setdefault(auth["reason_code"], (auth["reason"], auth["hint"]))
                first_rejected = first_rejected or conn
            else:
                accepted_conns += 1
                verdict.accepted_encodings[auth["encoding"]] += 1
                if not conn.rows or conn.ilp_errors:
                    rows_lost += 1
        if not finished.ok:
            failures.append(finished)
            if verdict.runs == 1 or len(failures) >= 3:
                verdict.stopped = "failure"  # a snippet that fails at once fails; three failures are evidence enough
                break
        progress(verdict)
        verdict.stopped = stop_reason(rule, verdict.encoding, verdict.tally, verdict.runs,
                                      time.monotonic() - started, budget) or ""
        if verdict.stopped:
            break
    verdict.seconds = time.monotonic() - started
    verdict.edge_cases = edge_cases_text(rule, verdict.encoding, verdict.tally)
    judged = _judge(verdict, failures, last, rows_lost, accepted_conns)
    shown = first_rejected or (first_unjudged if not verdict.handshakes else None)
    if shown is not None:
        judged.evidence += f"\nstub events of its first {'rejected' if first_rejected else 'unjudged'} connection " \
                           f"({shown.conn}):\n" + _events_text(shown.events)
    return judged


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
        if not verdict.connections and last.ok:
            verdict.notes.append("it exited 0 without connecting to its stub: it may connect to an address the "
                                 "substitutions did not reach (a client's default, 9009)")
    elif k == n:
        verdict.verdict = "REJECTED"
        verdict.detail = f"all {n} handshakes rejected: {reasons}; stopped on {verdict.stopped}"
    elif k:
        verdict.verdict = "FLAKY"
        verdict.detail = f"{k} of {n} handshakes rejected: {reasons}; stopped on {verdict.stopped}"
    elif failures:
        verdict.verdict = "FLAKY"
        verdict.detail = f"{len(failures)} of {verdict.runs} runs failed: {_first_line(evidence(failures[0]), 120)}"
        verdict.evidence = evidence(failures[0]) + _output_tail(failures[0])
    elif rows_lost:
        verdict.verdict = "ROWS LOST"
        verdict.detail = f"{rows_lost} of {accepted_conns} accepted connections delivered no rows or a malformed line"
    else:
        verdict.detail = f"{n} handshakes accepted in {verdict.runs} runs, rows arrived; stopped on {verdict.stopped}"
    for code, (reason, hint) in verdict.hints.items():
        verdict.evidence += f"\n{code}: {reason}\n  hint: {hint}"
    return verdict


def _connections(stub, read: int) -> tuple[dict[int, Connection], int]:
    """({number: events} of the connections opened since event number `read`, once all have closed, or
    SETTLE seconds went by), and the number of events read by then."""
    deadline = time.monotonic() + SETTLE
    while True:
        new = stub.log.since(read)
        conns = by_connection(new)
        if all(c.close is not None for c in conns.values()) or time.monotonic() > deadline:
            return {n: c for n, c in conns.items() if c.connect is not None}, read + len(new)
        time.sleep(SETTLE_POLL)


def _events_text(events: list[dict], limit: int = 8) -> str:
    """The events, one JSON line each; an auth event's reason and hint are left out (the evidence gives
    them once per reason code), so that its codes fit on the line."""
    lines = [json.dumps({k: v for k, v in e.items() if k not in ("reason", "hint")}, ensure_ascii=False)[:400]
             for e in events[:limit]]
    if len(events) > limit:
        lines.append(f"... {len(events) - limit} more events")
    return "\n".join(lines)


def _first_line(text: str, limit: int) -> str:
    line = next((line for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _output_tail(finished: Finished | None, lines: int = 8) -> str:
    if finished is None:
        return "(no output)"
    tail = output(finished).strip().splitlines()[-lines:]
    return "\n" + "\n".join(tail) if tail else "\n(no output)"
