"""The rows fixture (rows.jsonl) and the field-by-field comparison of rows the stub recorded."""

from __future__ import annotations

from pathlib import Path

from .datafile import ABSENT, Key, Table, load_json_lines
from .paths import ROWS

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000}
ROW_FIELDS = ("table", "symbols", "columns", "timestamp")  # what the stub's row event has too
NON_FINITE = {"NaN", "Infinity", "-Infinity"}  # floats that JSON cannot write as numbers
_VALUE_TYPES = {"integer": int, "float": float, "string": str, "boolean": bool, "timestamp": int}


def _column_rule(column: dict) -> str | None:
    kind, value = column["type"], column["value"]
    if not (kind == "float" and value in NON_FINITE) and type(value) is not _VALUE_TYPES[kind]:
        return f"value = {value!r} does not fit type {kind!r}"
    if ("unit" in column) != (kind == "timestamp"):
        return "unit goes with type timestamp, and only with it"
    return None


_TIMESTAMP = Table({"value": Key(int), "unit": Key(str, choices=_NS_PER)})
_COLUMN = Table({"type": Key(str, choices=_VALUE_TYPES), "value": Key(object), "unit": Key(str, ABSENT, choices=_NS_PER)},
                rule=_column_rule)
ROW = Table({
    "id": Key(str),  # the row's name (clients.toml's omit_rows)
    "table": Key(str),
    "symbols": Key(dict, values=str),
    "columns": Key(dict, values=_COLUMN),
    "timestamp": Key((dict, type(None)), table=_TIMESTAMP),  # null: the server's clock
    "ilp": Key(str),  # the same row as one ILP line, without its line end
}, label="id")


def load_rows(path: Path = ROWS) -> list[dict]:
    """Every row of a rows fixture, each checked against ROW."""
    return load_json_lines(path, ROW)


def row_fields(row: dict) -> dict:
    """A fixture row or a stub's row event as the fields both have."""
    return {k: row[k] for k in ROW_FIELDS}


def expected_rows(rows: list[dict], omit_rows=(), omit_columns=()) -> list[dict]:
    """The rows a client is expected to deliver, without what its library cannot send."""
    expected = []
    for row in rows:
        if row["id"] in omit_rows:
            continue
        expected.append(row_fields(row) | {"columns": {k: v for k, v in row["columns"].items()
                                                       if k not in omit_columns}})
    return expected


def expected_for(client) -> list[dict]:
    """The rows a registry client must deliver: its own fixture (`rows_file`), less its omissions."""
    return expected_rows(load_rows(client.rows_path), client.omit_rows, client.omit_columns)


def _instant(value: int, unit: str) -> int:
    return value * _NS_PER[unit]


def comparable(row: dict) -> dict:
    """A row with every timestamp as nanoseconds, so units chosen by a client do not matter."""
    columns = {}
    for name, column in row["columns"].items():
        if column["type"] == "timestamp":
            column = {"type": "timestamp", "value": _instant(column["value"], column["unit"])}
        columns[name] = column
    ts = row["timestamp"]
    return {"table": row["table"], "symbols": row["symbols"], "columns": columns,
            "timestamp": None if ts is None else _instant(ts["value"], ts["unit"])}


def diff_rows(expected: list[dict], actual: list[dict]) -> list[str]:
    """Human-readable differences, field by field and type by type; empty when the rows are intact."""
    problems = []
    if len(expected) != len(actual):
        problems.append(f"{len(actual)} rows arrived, {len(expected)} were sent")
    for index, (want, got) in enumerate(zip(expected, actual)):
        problems += [f"row {index + 1}: {p}" for p in _diff_row(comparable(want), comparable(got))]
    return problems


def _diff_row(want: dict, got: dict) -> list[str]:
    problems = []
    for key in ("table", "timestamp"):
        if want[key] != got[key]:
            problems.append(f"{key} {got[key]!r}, expected {want[key]!r}")
    if want["symbols"] != got["symbols"]:
        problems.append(f"symbols {got['symbols']!r}, expected {want['symbols']!r}")
    for name in want["columns"].keys() | got["columns"].keys():
        w, g = want["columns"].get(name), got["columns"].get(name)
        if w is None:
            problems.append(f"unexpected column {name!r} = {g!r}")
        elif g is None:
            problems.append(f"column {name!r} missing, expected {w!r}")
        elif w["type"] != g["type"]:
            problems.append(f"column {name!r} has type {g['type']} ({g['value']!r}), expected {w['type']} ({w['value']!r})")
        elif not _same_value(w["value"], g["value"]):
            problems.append(f"column {name!r} = {g['value']!r}, expected {w['value']!r}")
    return problems


def _same_value(a, b) -> bool:
    # bool is an int in Python: compare types too, so True never equals 1.
    return type(a) is type(b) and a == b
