"""What each server did with the cases, in one form for both: the outcome of a case.

    {"conns": [{"challenge": bool, "closed": bool}, ...],   # per connection, as the client saw it
     "alive": N,                                             # probe rows stored: the last connection survived
     "tables": {name: {"schema": {column: TYPE}, "rows": [{column: value}, ...]}},
     "deviations": [{"connection": N, "deviation": CODE}]}   # the stub's only: where it deviates on purpose

QuestDB's side is read back over HTTP /exec once ingestion has settled; the stub's side is predicted
from its events, whose rows are the rows as the stub says QuestDB stores them (server_stub/src/server_stub/tables.py),
written here as /exec gives them back (`_store`): a timestamp in microseconds (truncated toward zero)
unless its column is TIMESTAMP_NS; the minimum long and non-finite doubles as NULL; a row without a
designated timestamp with the server's clock. A NULL is left out of its row, so that a row does not
depend on which other columns its table has; a string longer than LONG_VALUE characters is written as
its length and SHA-256 (the recorded ground truth stays small).
"""

from __future__ import annotations

import hashlib
import json
import re
import time

from server_stub.tables import column_type, designated_type

from ..questdb.parity import stored_elements, ticks_of_iso
from .case import PROBE_TABLE, Case
from .play import Seen

CASE_TABLE = re.compile(r"c(\d+)(?![0-9])", re.IGNORECASE)
CLOCK = "clock"  # a designated timestamp the server took from its clock
CLOCK_SLACK_US = 3_600_000_000  # a stored timestamp this close to the run's start is the server's clock
LONG_VALUE = 256
SETTLED_AFTER = 1.5  # commits come every 200 ms (the launcher's server.conf): 1.5 s still means all are in
SETTLE_TIMEOUT = 120.0


class EngineError(RuntimeError):
    """The engine could not observe a case: never a verdict on the stub."""


def _compact(value):
    if isinstance(value, str) and len(value) > LONG_VALUE:
        return {"length": len(value), "sha256": hashlib.sha256(value.encode()).hexdigest()}
    return value


# --- QuestDB ----------------------------------------------------------------------------------

def settle(questdb) -> None:
    """Wait until every WAL table has applied what it received and the table list is still: ILP rows
    become visible asynchronously (commit timer, then the apply job)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    previous, since = None, time.monotonic()
    while time.monotonic() < deadline:
        # Pending WAL tables, every table's sequencer transactions (a commit that has not reached a
        # table's WAL yet moves it later) and the number of tables: all three must stay still.
        pending, committed = questdb.query("select sum(case when writerTxn < sequencerTxn then 1 else 0 end), "
                                           "sum(sequencerTxn) from wal_tables()")["dataset"][0]
        state = (pending, committed, questdb.query("select count() from tables()")["dataset"][0][0])
        if state != previous:
            previous, since = state, time.monotonic()
        elif pending == 0 and time.monotonic() - since >= SETTLED_AFTER:
            return
        time.sleep(0.2)
    raise TimeoutError(f"QuestDB did not settle within {SETTLE_TIMEOUT:.0f} s (last: {previous}: pending tables, "
                       f"sequencer transactions, tables)")


def questdb_outcomes(questdb, cases: list[Case], seen: dict[int, list[Seen]], started_us: int) -> dict[int, dict]:
    alive = questdb.counts(PROBE_TABLE, by="probe")  # {} when no case survived: no probe table
    tables: dict[int, list[str]] = {}
    for (name,) in questdb.query("select table_name from tables()")["dataset"]:
        found = CASE_TABLE.match(name)
        if found:
            tables.setdefault(int(found.group(1)), []).append(name)
    out = {}
    for case in cases:
        content = {name.lower(): _table_content(questdb, name, started_us) for name in tables.get(case.id, [])}
        out[case.id] = {"conns": [s.as_json() for s in seen[case.id]], "alive": alive.get(f"c{case.id}", 0),
                        "tables": content}
    return out


def _table_content(questdb, name: str, started_us: int) -> dict:
    answer = questdb.query("select * from '{}'".format(name.replace("'", "''")))
    columns = [(c["name"], c["type"]) for c in answer["columns"]]
    rows = []
    for values in answer["dataset"]:
        row = {}
        for (column, kind), value in zip(columns, values, strict=True):
            if value is None:
                continue
            if kind in ("TIMESTAMP", "TIMESTAMP_NS"):
                value = ticks_of_iso(value, 9 if kind == "TIMESTAMP_NS" else 6)
                micros = value // 1000 if kind == "TIMESTAMP_NS" else value
                if column == "timestamp" and abs(micros - started_us) < CLOCK_SLACK_US:
                    value = CLOCK
            row[column] = _compact(value)
        rows.append(row)
    return {"schema": dict(columns), "rows": _sorted(rows)}


def _sorted(rows: list[dict]) -> list[dict]:
    """Rows in a canonical order; JSON text keeps true apart from 1 and 1.0 apart from 1."""
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


# --- the stub ---------------------------------------------------------------------------------

def stub_outcomes(connections: dict, cases: list[Case], seen: dict[int, list[Seen]]) -> dict[int, dict]:
    """The stub's prediction of QuestDB's outcome for each case, from its events (records.by_connection;
    each Seen names its connection)."""
    out = {}
    for case in cases:
        conns, alive, tables, deviations = [], 0, {}, []
        for number, s in enumerate(seen[case.id], 1):
            conn = connections.get(s.conn)
            if conn is None:
                raise EngineError(f"case {case.id}: the stub has no events for connection {number} ({s.local})")
            predicted = dict(s.as_json())
            deviations += [{"connection": number, "deviation": e["deviation"]} for e in conn.events if "deviation" in e]
            if (conn.auth or {}).get("real_server_closes") is False:
                predicted["closed"] = False  # the stub closes what QuestDB leaves open (server_stub/PROTOCOL.md section 7)
            for row in conn.rows:
                if row["table"] == PROBE_TABLE:
                    alive += row["symbols"].get("probe") == f"c{case.id}"
                else:
                    _store(tables, row, case.schema)
            conns.append(predicted)
        out[case.id] = {"conns": conns, "alive": alive,
                        "tables": {name: {"schema": t["schema"], "rows": _sorted(t["rows"])}
                                   for name, t in tables.items()}}
        if deviations:
            out[case.id]["deviations"] = deviations
    return out


def _store(tables: dict, row: dict, declared: dict | None = None) -> None:
    """A row event in QuestDB's terms: each column typed as the case declared it or as its first value
    made it (an array column as /exec names it, ARRAY), each value as /exec gives it back."""
    table = tables.get(row["table"].lower())
    if table is None:
        columns = next((c for name, c in (declared or {}).items() if name.lower() == row["table"].lower()), {})
        table = tables[row["table"].lower()] = {"schema": dict(columns), "rows": []}
        if columns:
            table["schema"]["timestamp"] = "TIMESTAMP"
    schema, stored = table["schema"], {}
    for name, value in row["symbols"].items():
        schema.setdefault(name, "SYMBOL")
        stored[name] = _compact(value)
    for name, column in row["columns"].items():
        made = column_type(column)
        kind = schema.setdefault(name, "ARRAY" if made and made.endswith("[]") else made)
        value = _as_stored(column, kind)
        if value is not None:
            stored[name] = _compact(value)
    stamp = row["timestamp"]
    kind = schema.setdefault("timestamp", designated_type(stamp))
    stored["timestamp"] = CLOCK if stamp is None else _ticks(stamp["value"], stamp["unit"], kind)
    table["rows"].append(stored)


def _as_stored(column: dict, kind: str):
    value = column["value"]
    if column["type"] == "integer" and value == -(2**63):
        return None
    if column["type"] == "float" and isinstance(value, str):
        return None
    if column["type"] == "timestamp":
        return None if value == -(2**63) else _ticks(value, column["unit"], kind)  # the minimum is NULL
    if column["type"] == "array" and value is not None:
        return stored_elements(value)
    return value


def _ticks(value: int, unit: str, kind: str) -> int:
    """A timestamp in the unit its column keeps: nanoseconds for TIMESTAMP_NS, else microseconds."""
    nanos = {"ns": value, "us": value * 1000, "ms": value * 1_000_000}[unit]
    if kind == "TIMESTAMP_NS":
        return nanos
    return nanos // 1000 if nanos >= 0 else -(-nanos // 1000)  # truncated toward zero
