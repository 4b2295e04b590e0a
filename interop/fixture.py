"""The rows fixtures (rows.jsonl, rows_v2.jsonl, rows_v3.jsonl) and the field-by-field comparison of
rows the stub recorded (contract 3: CLIENTS.md, "The rows fixture").

Typed values: integer, float, string, boolean, timestamp (with its unit), and from protocol version 2
on, array (of doubles, with its shape) and decimal (scale, unscaled and value as strings). A value may
say "binary": true: then it must arrive in binary form; a value without it may arrive either way.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from server_stub.ilp.values import MAX_DECIMAL_SCALE, decimal_text
from server_stub.schema import known_type

from .datafile import ABSENT, Key, Table, load_json_lines, load_toml
from .paths import ROWS, SCHEMA

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000}
ROW_FIELDS = ("table", "symbols", "columns", "timestamp")  # what the stub's row event has too
NON_FINITE = {"NaN", "Infinity", "-Infinity"}  # floats that JSON cannot write as numbers
_VALUE_TYPES = {"integer": int, "float": float, "string": str, "boolean": bool, "timestamp": int,
                "array": list, "decimal": str}
_OWN_KEYS = {"timestamp": {"unit"}, "array": {"element", "shape"}, "decimal": {"scale", "unscaled"}}
_INTEGER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")


def _column_rule(column: dict) -> str | None:
    kind, value = column["type"], column["value"]
    for other, keys in _OWN_KEYS.items():
        present = sorted(k for k in keys if k in column)
        if kind == other and len(present) != len(keys):
            return f"type {kind!r} needs {sorted(keys)}"
        if kind != other and present:
            return f"{present} go with type {other!r}, and only with it"
    if column.get("binary", True) is not True:
        return "binary is true or left out"
    if kind == "array":
        return _array_rule(column)
    if kind == "decimal":
        return _decimal_rule(column)
    if not (kind == "float" and value in NON_FINITE) and type(value) is not _VALUE_TYPES[kind]:
        return f"value = {value!r} does not fit type {kind!r}"
    return None


def _array_rule(column: dict) -> str | None:
    shape, value = column["shape"], column["value"]
    if shape is None:  # a NULL array
        return None if value is None else "a NULL array (shape null) has value null"
    if not shape or not all(type(n) is int and n >= 0 for n in shape):
        return f"shape = {shape!r}; expected a list of one or more sizes (integers from 0), or null"
    if math.prod(shape) == 0:
        return None if value == [] else "an empty array (a 0 in its shape) has value []"
    return _nested_rule(value, shape, "value")


def _nested_rule(value, shape: list[int], where: str) -> str | None:
    if not shape:  # an element: a float, or one of the strings for a non-finite one
        ok = type(value) is float or value in NON_FINITE
        return None if ok else f"{where} = {value!r}; expected a float or one of {sorted(NON_FINITE)}"
    if type(value) is not list or len(value) != shape[0]:
        return f"{where} = {value!r}; expected a list of {shape[0]} (the shape says so)"
    return next((p for i, item in enumerate(value) if (p := _nested_rule(item, shape[1:], f"{where}[{i}]"))), None)


def _decimal_rule(column: dict) -> str | None:
    scale, unscaled, value = column["scale"], column["unscaled"], column["value"]
    if type(scale) is not int or not 0 <= scale <= MAX_DECIMAL_SCALE:
        return f"scale = {scale!r}; expected an integer from 0 to {MAX_DECIMAL_SCALE}"
    if unscaled is None:  # a NULL decimal
        return None if value is None else "a NULL decimal (unscaled null) has value null"
    if type(unscaled) is not str or not _INTEGER_TEXT.fullmatch(unscaled) or unscaled == "-0":
        return f"unscaled = {unscaled!r}; expected an integer as a string (it may exceed 64 bits), or null"
    exact = decimal_text(int(unscaled), scale)
    return None if value == exact else f"value = {value!r}; unscaled {unscaled} at scale {scale} is {exact!r}"


def _row_rule(row: dict) -> str | None:
    arrays = sorted(name for name, column in row["columns"].items() if column["type"] == "array")
    if (row["ilp"] is None) != bool(arrays):
        return (f"ilp is null exactly when the row has an array (ILP has no text form for one); arrays: {arrays}")
    return None


_TIMESTAMP = Table({"value": Key(int), "unit": Key(str, choices=_NS_PER)})
_COLUMN = Table({
    "type": Key(str, choices=_VALUE_TYPES),
    "value": Key(object),
    "binary": Key(bool, ABSENT),  # true: the value must arrive in binary form
    "unit": Key(str, ABSENT, choices=_NS_PER),  # timestamp
    "element": Key(str, ABSENT, choices={"double"}),  # array
    "shape": Key((list, type(None)), ABSENT),  # array: null for a NULL array
    "scale": Key(int, ABSENT),  # decimal
    "unscaled": Key((str, type(None)), ABSENT),  # decimal: null for a NULL decimal
}, rule=_column_rule)
ROW = Table({
    "id": Key(str),  # the row's name (clients.toml's omit_rows)
    "table": Key(str),
    "symbols": Key(dict, values=str),
    "columns": Key(dict, values=_COLUMN),
    "timestamp": Key((dict, type(None)), table=_TIMESTAMP),  # null: the server's clock
    "ilp": Key((str, type(None))),  # the same row as one ILP line, without its line end; null: no text form
}, label="id", rule=_row_rule)


def _declared_rule(table: dict) -> str | None:
    wrong = sorted(f"{name} = {kind!r}" for name, kind in table["columns"].items() if not known_type(kind))
    return f"not QuestDB column types: {', '.join(wrong)}" if wrong else None


_SCHEMA = Table({"table": Key(dict, {}, values=Table({"columns": Key(dict, values=str)}, rule=_declared_rule))})


def load_schema(path: Path = SCHEMA) -> dict[str, dict[str, str]]:
    """{table: {column: QuestDB type}}: the tables declared before the rows arrive (schema.toml)."""
    return {name: table["columns"] for name, table in load_toml(path, _SCHEMA)["table"].items()}


def load_rows(path: Path = ROWS) -> list[dict]:
    """Every row of a rows fixture, each checked against ROW."""
    return load_json_lines(path, ROW)


def has_text_only(rows: list[dict]) -> bool:
    """Whether a client that sends the rows' `ilp` text delivers them as they are: every row has a text
    form and no value must arrive in binary."""
    return all(row["ilp"] is not None and not any(c.get("binary") for c in row["columns"].values()) for row in rows)


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
            column = {k: v for k, v in column.items() if k != "unit"} | {"value": _instant(column["value"], column["unit"])}
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
        elif w.get("binary") and not g.get("binary"):
            problems.append(f"column {name!r} arrived as text, expected in binary (the client's protocol version?)")
        else:
            problems += [f"column {name!r}{p}" for p in _value_problems(w, g)]
    return problems


# What a value is, per type: the keys compared (besides the type and the binary flag).
_COMPARED = {"array": ("element", "shape", "value"), "decimal": ("scale", "unscaled", "value")}


def _value_problems(want: dict, got: dict) -> list[str]:
    keys = _COMPARED.get(want["type"], ("value",))
    return [(f" = {got.get(k)!r}" if k == "value" else f" {k} {got.get(k)!r}") + f", expected {want[k]!r}"
            for k in keys if not _same_value(want[k], got.get(k))]


def _same_value(a, b) -> bool:
    # bool is an int in Python: compare types too, so True never equals 1; lists (arrays, shapes) element
    # by element, so 1 never equals 1.0 inside one either.
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return a == b
