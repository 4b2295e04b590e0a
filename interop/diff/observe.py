"""What each server did with the cases, in one form for both: the outcome of a case.

    {"conns": [{"challenge": bool, "closed": bool}, ...],   # per connection, as the client saw it
     "alive": N,                                             # probe rows stored: the last connection survived
     "tables": {name: {"schema": {column: TYPE}, "rows": [{column: value}, ...]}}}

QuestDB's side is read back over HTTP /exec once ingestion has settled; the stub's side is predicted
from its events. Values are compared as QuestDB stores them: CONVERSIONS says how an ILP value becomes
a stored one (measured by `nox -s diff`; server_stub/PROTOCOL.md section 6 lists them). A column that is NULL in a
row is left out of that row, so a row does not depend on which other columns its table has.
"""

from __future__ import annotations

import json
import re
import time

from .case import PROBE_TABLE, Case
from .play import Seen

CASE_TABLE = re.compile(r"c(\d+)(?![0-9])", re.IGNORECASE)
CLOCK = "clock"  # a designated timestamp the server took from its clock
CLOCK_SLACK_US = 3_600_000_000  # a stored timestamp this close to the run's start is the server's clock
SETTLED_AFTER = 1.5
SETTLE_TIMEOUT = 120.0

# ILP type -> the column type QuestDB creates for it (server_stub/PROTOCOL.md section 6).
COLUMN_TYPES = {"symbol": "SYMBOL", "integer": "LONG", "float": "DOUBLE", "string": "VARCHAR",
                "boolean": "BOOLEAN", "long256": "LONG256"}
CONVERSIONS = [
    ("timestamps are stored in microseconds (nanoseconds truncated toward zero), except in a TIMESTAMP_NS "
     "column: one made by a nanosecond value (the `n` suffix)"),
    "-9223372036854775808i is LONG's NULL; NaN and the infinities are DOUBLE's NULL: they come back null",
    "a row without a designated timestamp gets the server's clock",
]


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
    alive = _alive_counts(questdb)
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


def _alive_counts(questdb) -> dict[str, int]:
    try:
        return dict(questdb.query(f"select probe, count() from {PROBE_TABLE}")["dataset"])
    except Exception as error:  # no case survived: the probe table was never made
        if "does not exist" in str(error):
            return {}
        raise


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
                value = _ticks_of_iso(value, 9 if kind == "TIMESTAMP_NS" else 6)
                if column == "timestamp" and abs(value - started_us) < CLOCK_SLACK_US:
                    value = CLOCK
            row[column] = value
        rows.append(row)
    return {"schema": dict(columns), "rows": _sorted(rows)}


ISO = re.compile(r"(-?\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z")


def _ticks_of_iso(text: str, digits: int) -> int:
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
        for s in seen[case.id]:
            conn = connections.get(s.conn)
            predicted = dict(s.as_json())
            if conn is not None:
                auth = conn.auth or {}
                deviations += [e["deviation"] for e in conn.events if "deviation" in e]
                if auth.get("real_server_closes") is False:
                    predicted["closed"] = False  # the stub closes what QuestDB leaves open (server_stub/PROTOCOL.md section 7)
                for row in conn.rows:
                    if row["table"] == PROBE_TABLE:
                        alive += row["symbols"].get("probe") == f"c{case.id}"
                    else:
                        _store(tables, row)
            conns.append(predicted)
        out[case.id] = {"conns": conns, "alive": alive,
                        "tables": {name: {"schema": t["schema"], "rows": _sorted(t["rows"])}
                                   for name, t in tables.items()}}
        if deviations:
            out[case.id]["deviations"] = deviations
    return out


def _store(tables: dict, row: dict) -> None:
    """A row event (the row as the stub says QuestDB stores it) in QuestDB's terms: each column typed
    as its first value made it, each value as /exec gives it back."""
    table = tables.setdefault(row["table"].lower(), {"schema": {}, "rows": []})
    schema, stored = table["schema"], {}
    for name, value in row["symbols"].items():
        schema.setdefault(name, "SYMBOL")
        stored[name] = value
    for name, column in row["columns"].items():
        kind = schema.setdefault(name, _column_type(column))
        value = _as_stored(column, kind)
        if value is not None:
            stored[name] = value
    stamp = row["timestamp"]
    kind = schema.setdefault("timestamp", "TIMESTAMP_NS" if stamp and stamp.get("suffix") == "n" else "TIMESTAMP")
    stored["timestamp"] = CLOCK if stamp is None else _ticks(stamp["value"], stamp["unit"], kind)
    table["rows"].append(stored)


def _column_type(column: dict) -> str:
    if column["type"] == "timestamp":
        return "TIMESTAMP_NS" if column["unit"] == "ns" else "TIMESTAMP"
    return COLUMN_TYPES[column["type"]]


def _as_stored(column: dict, kind: str):
    value = column["value"]
    if column["type"] == "integer" and value == -(2**63):
        return None
    if column["type"] == "float" and isinstance(value, str):
        return None
    if column["type"] == "timestamp":
        return _ticks(value, column["unit"], kind)
    return value


def _ticks(value: int, unit: str, kind: str) -> int:
    """A timestamp in the unit its column keeps: nanoseconds for TIMESTAMP_NS, else microseconds."""
    nanos = {"ns": value, "us": value * 1000, "ms": value * 1_000_000}[unit]
    if kind == "TIMESTAMP_NS":
        return nanos
    return nanos // 1000 if nanos >= 0 else -(-nanos // 1000)  # truncated toward zero
