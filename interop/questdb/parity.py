"""The stub and the real QuestDB server side by side: the same handshakes, the same examples.

QuestDB gives no verdict on the wire, so one is derived: a rejected connection is closed by the
server and its rows never appear; an accepted one's rows appear in the table (read back over HTTP
/exec). For every case the stub's verdict (from its events) and QuestDB's must agree: accepted or
not, whether the server closes the connection, and how many rows arrive. For every example, the
values QuestDB stored must also be the fixture's, typed value by typed value (compare_values), with
only the conversions of ALLOWED_CONVERSIONS.

Both servers start with the tables of interop/schema.toml: the stub by `--schema`, QuestDB by
create_declared_tables (once per server process; QuestDB never makes a DECIMAL column from ILP).
"""

from __future__ import annotations

import re
import socket
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from server_stub.ilp.values import decimal_text, rescale
from server_stub.keys import load_jwk
from server_stub.records import by_connection, by_peer
from server_stub.schema import create_sql, decimal_type, load_schema

from ..fixture import _same_value, expected_for
from ..judge import judge_client
from ..paths import SCHEMA
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
    values: dict[str, int] = field(default_factory=dict)  # values read back from QuestDB and compared, by type

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

def create_declared_tables(questdb: QuestDBProcess, schema: Path = SCHEMA) -> dict[str, dict[str, str]]:
    """CREATE TABLE in QuestDB for every table of the schema file, as the stub's `--schema` declares them;
    once per server process, before the examples. Returns {table: {column: TYPE}}."""
    tables = load_schema(schema)
    for table, columns in tables.items():
        questdb.query(create_sql(table, columns))
    return tables


def example_parity(client, connections: int, keys: dict, auth: Path, build_dir: Path, out: Path,
                   questdb: QuestDBProcess, declared: Collection[str] = ()) -> Parity:
    """One example against the stub, then against QuestDB. `declared`: the tables create_declared_tables
    made, emptied before the run (TRUNCATE keeps their columns); every other table of the fixture is dropped."""
    expected = expected_for(client)
    with StubProcess(auth, out / "events" / f"parity-{client.id}.jsonl") as stub:
        stub_run = run_example(client, build_dir, stub.host, stub.port, keys[client.key], connections,
                               timeout=60 + 0.1 * connections)
    conns = by_connection(stub.events())
    judged = judge_client(client, connections, [stub_run], conns, expected)
    # The rows the stub recorded on the connections it accepted (a row it refuses is not one).
    stub_rows = sum(len(seen.rows) for seen in conns.values() if (seen.auth or {}).get("accepted"))
    stub_side = Side(judged.accepted, rows=stub_rows,
                     detail=f"{judged.accepted}/{judged.handshakes} accepted, {judged.rows_intact} with rows intact")

    tables = sorted({row["table"] for row in expected})
    for table in tables:
        quoted = "'{}'".format(table.replace("'", "''"))
        # A WAL table applies its TRUNCATE in order with the rows after it: no wait needed here.
        questdb.query(f"truncate table {quoted}" if table in declared else f"drop table if exists {quoted}")
    q_run = run_example(client, build_dir, questdb.host, questdb.ilp_port, keys[client.key], connections,
                        timeout=60 + 0.1 * connections)
    counts = questdb.wait_for_counts(tables)
    per_connection = {t: sum(r["table"] == t for r in expected) for t in tables}
    accepted = min(counts[t] // per_connection[t] for t in tables)
    questdb_side = Side(accepted, rows=sum(counts.values()),
                        detail=f"{accepted}/{connections} accepted, example exit {q_run.exit_code}")
    problems, values = compare_values(questdb, expected) if accepted else ([], Counter())
    if client.expect == "defective":
        # Which handshakes fail is chance: agreement means both servers caught the defect.
        stub_side.accepted = "defect seen" if judged.accepted < connections else "no defect"
        questdb_side.accepted = "defect seen" if accepted < connections else "no defect"
        stub_side.rows = questdb_side.rows = 0
    return Parity("example", client.id, stub_side, questdb_side, problems, dict(values))


# How QuestDB stores what ILP sends, and therefore what reading it back may differ in. Every other
# value must come back exactly, of the same JSON type (symbols, strings, booleans, integers, finite
# doubles, text or binary, and the finite elements of arrays).
ALLOWED_CONVERSIONS = [
    "timestamps (designated and columns) are stored in microseconds: a nanosecond value comes back truncated",
    "a row without a designated timestamp gets the server's clock",
    "-9223372036854775808 is QuestDB's NULL for LONG: it comes back null",
    "NaN, Infinity and -Infinity are NULL for DOUBLE (text or binary): they come back null",
    ("a DOUBLE array comes back as nested lists (column type ARRAY, its dim and elemType DOUBLE), its NaN, "
     "Infinity and -Infinity elements as null, an empty one of any shape as [], a NULL one as null"),
    ("a decimal comes back as its exact text at the scale of its declared DECIMAL(p,s) column (schema.toml): "
     "-123.45 into DECIMAL(18,4) is \"-123.4500\"; a NULL decimal as null"),
]

# The column type QuestDB must report for a value of each fixture type, besides arrays and decimals
# (_type_problem); the other types are not checked.
_STORED_TYPES = {"float": "DOUBLE"}


def compare_values(questdb, expected: list[dict]) -> tuple[list[str], Counter]:
    """The first stored row of each table against the fixture row, allowing ALLOWED_CONVERSIONS: (the
    differences, the number of values compared by type). `questdb` needs only `query`."""
    problems, compared = [], Counter()
    for want in expected:
        table = want["table"].replace("'", "''")
        answer = questdb.query(f"select * from '{table}' limit 1")
        if not answer["dataset"]:
            problems.append(f"{want['table']}: no row stored")
            continue
        types = {c["name"]: c for c in answer["columns"]}
        got = dict(zip(types, answer["dataset"][0], strict=True))
        for name, value in want["symbols"].items():
            compared["symbol"] += 1
            if got.get(name) != value:
                problems.append(f"{want['table']}.{name}: {got.get(name)!r}, sent symbol {value!r}")
        for name, column in want["columns"].items():
            compared[column["type"]] += 1
            if name not in got:
                problems.append(f"{want['table']}.{name}: no such column, sent {column['type']} {column['value']!r}")
                continue
            wrong_type = _type_problem(column, types[name])
            stored, sent = got[name], _as_stored(column, types[name].get("type"))
            if wrong_type:
                problems.append(f"{want['table']}.{name}: {wrong_type}")
            elif not _same_value(stored, sent):
                problems.append(f"{want['table']}.{name}: {stored!r}, sent {column['type']} {column['value']!r}"
                                + (f" (stored as {sent!r})" if sent != column["value"] else ""))
        if want["timestamp"] is not None:
            compared["designated timestamp"] += 1
            sent = _micros(want["timestamp"]["value"], want["timestamp"]["unit"])
            if _parse_time(got.get("timestamp")) != sent:
                problems.append(f"{want['table']}.timestamp: {got.get('timestamp')!r}, sent {want['timestamp']}")
    return problems, compared


def _type_problem(column: dict, info: dict) -> str | None:
    """Why QuestDB's column (`info`: /exec's name, type, and for arrays dim and elemType) cannot hold the
    fixture's value as sent; None when it can."""
    kind, stored = column["type"], info.get("type")
    if kind == "decimal":
        return None if decimal_type(stored or "") else f"column type {stored}, sent decimal {column['value']!r}"
    if kind == "array":
        want = {"type": "ARRAY", "elemType": column["element"].upper()}
        if column["shape"] is not None:
            want["dim"] = len(column["shape"])
        if any(info.get(k) != v for k, v in want.items()):
            seen = {k: info.get(k) for k in want}
            return f"column {seen}, sent an array of {column['element']} with shape {column['shape']}"
        return None
    if kind in _STORED_TYPES and stored != _STORED_TYPES[kind]:
        return f"column type {stored}, sent {kind} {column['value']!r}"
    return None


def _as_stored(column: dict, stored_type: str | None = None):
    """The value /exec returns for a fixture value; `stored_type` is QuestDB's column type (a decimal's
    scale is its column's)."""
    kind, value = column["type"], column["value"]
    if kind == "integer" and value == -(2**63):
        return None
    if kind == "float" and isinstance(value, str):
        return None
    if kind == "timestamp":
        return _iso(_micros(value, column["unit"]))
    if kind == "array":
        return stored_elements(value)
    if kind == "decimal" and column["unscaled"] is not None:
        declared = decimal_type(stored_type or "")
        unscaled = None if declared is None else rescale(int(column["unscaled"]), column["scale"], declared[1])
        # No exact value at the column's scale: QuestDB refuses such a row, so any stored one differs.
        return value if unscaled is None else decimal_text(unscaled, declared[1])
    return value


def stored_elements(value):
    """An array's nested values with the non-finite elements ("NaN", "Infinity", "-Infinity") as null."""
    if isinstance(value, list):
        return [stored_elements(v) for v in value]
    return None if isinstance(value, str) else value


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
