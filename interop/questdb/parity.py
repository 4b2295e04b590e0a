"""The stub and the real QuestDB server side by side: the same handshakes, the same examples.

QuestDB gives no verdict on the wire, so one is derived: a rejected connection is closed by the
server and its rows never appear; an accepted one's rows appear in the table (read back over HTTP
/exec). For every case the stub's verdict (from its events) and QuestDB's must agree: accepted or
not, whether the server closes the connection, and how many rows arrive.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from server_stub.keys import load_jwk
from server_stub.records import by_connection, by_peer

from ..fixture import expected_for
from ..judge import judge_client
from ..refsigner import run_case
from ..run_example import run_example
from ..stubproc import StubProcess
from .launcher import QuestDBProcess

PROBE_TABLE = "parity"  # the row a case sends with its handshake
AFTER_TABLE = "parity_after"  # one row sent after the handshake: tells "accepted" from "left open"


@dataclass
class Side:
    accepted: bool | int  # bool for a case; number of accepted connections for an example
    closes: bool | None = None  # whether the server closed the connection (cases only)
    rows: int = 0
    detail: str = ""


@dataclass
class Parity:
    kind: str  # "case" or "example"
    name: str
    stub: Side
    questdb: Side
    problems: list[str] = field(default_factory=list)  # value differences found in QuestDB's tables

    @property
    def agree(self) -> bool:
        same = (self.stub.accepted, self.stub.closes, self.stub.rows) == (
            self.questdb.accepted, self.questdb.closes, self.questdb.rows)
        return same and not self.problems


# --- the negative matrix ---------------------------------------------------------------------------

def cases_parity(cases: list[dict], keys: dict, stub_auth: Path, out: Path, questdb: QuestDBProcess) -> list[Parity]:
    """Each negative case (cases.load_cases) played against the stub and against QuestDB."""
    keys = {kid: load_jwk(path) for kid, path in keys.items()}
    with StubProcess(stub_auth, out / "events" / "parity-cases.jsonl") as stub:
        stub_wire = [_play(stub.host, stub.port, keys, case) for case in cases]
    stub_conns = by_peer(by_connection(stub.events()))
    questdb_wire = [_play(questdb.host, questdb.ilp_port, keys, case) for case in cases]
    accepted_rows = questdb.wait_for_counts([AFTER_TABLE], by="case")
    probe_rows = questdb.wait_for_counts([PROBE_TABLE], by="case")
    results = []
    for case, s_wire, q_wire in zip(cases, stub_wire, questdb_wire, strict=True):
        conn = stub_conns.get(s_wire.local_peer)
        auth = (conn.auth if conn else None) or {}
        stub_side = Side(
            accepted=bool(auth.get("accepted")),
            # The stub always closes a rejected connection; the event says where QuestDB would not.
            closes=not auth.get("accepted") and auth.get("real_server_closes", True),
            rows=sum(r["table"] == PROBE_TABLE for r in conn.rows) if conn else 0,
            detail=auth.get("reason_code") or "accepted")
        questdb_side = Side(
            accepted=accepted_rows.get(case["id"], 0) > 0,
            closes=q_wire.closed_by_server,
            rows=probe_rows.get(case["id"], 0),
            detail=("closed" if q_wire.closed_by_server else "left open")
            + ("" if q_wire.challenge_received else ", no challenge"))
        results.append(Parity("case", case["id"], stub_side, questdb_side))
    return results


def _play(host: str, port: int, keys: dict, case: dict):
    probe = [f"{PROBE_TABLE},case={case['id']} n=1i"]
    after_row = f"{AFTER_TABLE},case={case['id']} n=1i\n".encode()

    def after(sock: socket.socket) -> None:
        try:
            sock.sendall(after_row)
        except OSError:
            pass  # closed meanwhile: the row simply does not arrive

    return run_case(host, port, keys, case, probe, after=after)


# --- the examples ------------------------------------------------------------------------------------

def example_parity(client, connections: int, keys: dict, auth: Path, build_dir: Path, out: Path,
                   questdb: QuestDBProcess) -> Parity:
    expected = expected_for(client)
    with StubProcess(auth, out / "events" / f"parity-{client.id}.jsonl") as stub:
        stub_run = run_example(client, build_dir, stub.host, stub.port, keys[client.key], connections,
                               timeout=60 + 0.1 * connections)
    judged = judge_client(client, connections, stub_run, stub.events(), expected)
    stub_side = Side(judged.accepted, rows=judged.accepted * len(expected),
                     detail=f"{judged.accepted}/{judged.handshakes} accepted")

    tables = sorted({row["table"] for row in expected})
    for table in tables:
        questdb.query("drop table if exists '{}'".format(table.replace("'", "''")))
    q_run = run_example(client, build_dir, questdb.host, questdb.ilp_port, keys[client.key], connections,
                        timeout=60 + 0.1 * connections)
    counts = questdb.wait_for_counts(tables)
    per_connection = {t: sum(r["table"] == t for r in expected) for t in tables}
    accepted = min(counts[t] // per_connection[t] for t in tables)
    questdb_side = Side(accepted, rows=sum(counts.values()),
                        detail=f"{accepted}/{connections} accepted, example exit {q_run.exit_code}")
    problems = [] if not accepted else _compare_values(questdb, expected)
    if client.expect == "defective":
        # Which handshakes fail is chance: agreement means both servers caught the defect.
        stub_side.accepted = "defect seen" if judged.accepted < connections else "no defect"
        questdb_side.accepted = "defect seen" if accepted < connections else "no defect"
        stub_side.rows = questdb_side.rows = 0
    return Parity("example", client.id, stub_side, questdb_side, problems)


# How QuestDB stores what ILP sends, and therefore what reading it back may differ in. Every other
# value must come back exactly (symbols, strings, booleans, integers, finite doubles).
ALLOWED_CONVERSIONS = [
    "timestamps (designated and columns) are stored in microseconds: a nanosecond value comes back truncated",
    "a row without a designated timestamp gets the server's clock",
    "-9223372036854775808 is QuestDB's NULL for LONG: it comes back null",
    "NaN, Infinity and -Infinity are NULL for DOUBLE: they come back null",
]


def _compare_values(questdb: QuestDBProcess, expected: list[dict]) -> list[str]:
    """The first stored row of each table against the fixture row, allowing ALLOWED_CONVERSIONS."""
    problems = []
    for want in expected:
        table = want["table"].replace("'", "''")
        answer = questdb.query(f"select * from '{table}' limit 1")
        if not answer["dataset"]:
            problems.append(f"{want['table']}: no row stored")
            continue
        got = dict(zip((c["name"] for c in answer["columns"]), answer["dataset"][0], strict=True))
        for name, value in want["symbols"].items():
            if got.get(name) != value:
                problems.append(f"{want['table']}.{name}: {got.get(name)!r}, sent symbol {value!r}")
        for name, column in want["columns"].items():
            stored, sent = got.get(name), _as_stored(column)
            if stored != sent:
                problems.append(f"{want['table']}.{name}: {stored!r}, sent {column['type']} {column['value']!r}")
        if want["timestamp"] is not None:
            sent = _micros(want["timestamp"]["value"], want["timestamp"]["unit"])
            if _parse_time(got.get("timestamp")) != sent:
                problems.append(f"{want['table']}.timestamp: {got.get('timestamp')!r}, sent {want['timestamp']}")
    return problems


def _as_stored(column: dict):
    kind, value = column["type"], column["value"]
    if kind == "integer" and value == -(2**63):
        return None
    if kind == "float" and isinstance(value, str):
        return None
    if kind == "timestamp":
        return _iso(_micros(value, column["unit"]))
    return value


def _micros(value: int, unit: str) -> int:
    return {"ns": value // 1000, "us": value, "ms": value * 1000}[unit]


def _iso(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:06d}Z"


def _parse_time(text: str | None) -> int | None:
    return ticks_of_iso(text, 6) if text else None


ISO = re.compile(r"(-?\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z")


def ticks_of_iso(text: str, digits: int) -> int:
    """"2023-11-14T22:13:20.000001Z" as microseconds (digits 6) or nanoseconds (digits 9) since 1970;
    QuestDB writes years past 9999 too, which datetime cannot hold."""
    found = ISO.fullmatch(text)
    if found is None:
        raise ValueError(f"QuestDB returned a timestamp this reader does not know: {text!r}")
    year, month, day, hour, minute, second = map(int, found.groups()[:6])
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return seconds * 10**digits + int((found.group(7) or "0")[:digits].ljust(digits, "0"))


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468
