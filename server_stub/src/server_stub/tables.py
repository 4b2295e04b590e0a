"""The server's tables, as QuestDB keeps them across connections, and what it does to each row.

A table's columns and their types are fixed by the first row that names them and last for the
server's lifetime; every later row is fitted to them. The rules, each measured against QuestDB 9.3.4
by the differential run (`nox -s diff`, classes IlpSchema and IlpStructure; server_stub/PROTOCOL.md section 6):

- Table and column names are compared without regard to case. A name given twice in one row (a tag
  twice, a field twice, or a tag and a field) keeps its first value; the rest are dropped.
- The designated timestamp is the column `timestamp`. A field of that name sets it when it is a
  timestamp; any other value for it, or a tag of that name, refuses the row. A designated timestamp
  before 1970 refuses the row.
- A value whose type differs from its column's is converted where QuestDB converts it (CONVERSIONS)
  and refuses the row otherwise.

A refused row is an IlpLineError: the real server drops the connection there, as for a malformed line.
The row returned is the row as QuestDB stores it: a converted value keeps the type it was sent as in
`sent`.
"""

from __future__ import annotations

from .ilp import IlpLineError
from .names import check_row

# The column type a value creates, by its ILP type.
COLUMN_TYPE = {"symbol": "SYMBOL", "integer": "LONG", "float": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN",
               "long256": "LONG256"}
# (column type, ILP type sent) -> the ILP type the value is stored as; a pair not listed refuses the row.
CONVERSIONS = {
    ("LONG", "boolean"): "integer",
    ("DOUBLE", "integer"): "float",
    ("DOUBLE", "boolean"): "float",
    ("TIMESTAMP", "integer"): "timestamp",
    ("TIMESTAMP_NS", "integer"): "timestamp",
    ("TIMESTAMP", "timestamp"): "timestamp",
    ("TIMESTAMP_NS", "timestamp"): "timestamp",
    ("VARCHAR", "symbol"): "string",
    **{("SYMBOL", sent): "symbol" for sent in ("integer", "float", "string", "boolean", "timestamp", "long256")},
}
DESIGNATED = "timestamp"


def column_type(value: dict) -> str:
    """The type of the column a first value creates: a nanosecond timestamp keeps nanoseconds."""
    if value["type"] == "timestamp":
        return "TIMESTAMP_NS" if value["unit"] == "ns" else "TIMESTAMP"
    return COLUMN_TYPE[value["type"]]


def designated_type(stamp: dict | None) -> str:
    """A designated timestamp written with the `n` suffix makes a nanosecond column; a bare one (read
    as nanoseconds) or any other unit a microsecond one."""
    return "TIMESTAMP_NS" if stamp is not None and stamp.get("suffix") == "n" else "TIMESTAMP"


def convert(value: dict, to: str, column: str) -> dict:
    """`value` stored as ILP type `to` in a column of type `column`, with `sent` naming the type it came as."""
    kind, raw = value["type"], value["value"]
    if to == "integer":
        return {"type": "integer", "value": int(raw), "sent": kind}
    if to == "float":
        return {"type": "float", "value": float(raw), "sent": kind}
    if to == "timestamp":
        # an integer in a timestamp column counts in the column's unit
        unit = value.get("unit", "ns" if column == "TIMESTAMP_NS" else "us")
        return {"type": "timestamp", "value": raw, "unit": unit, **({"sent": kind} if kind != "timestamp" else {})}
    if to == "string":
        return {"type": "string", "value": raw, "sent": kind}
    return {"type": "symbol", "value": _text(value), "sent": kind}


def _text(value: dict) -> str:
    """A value's text as a SYMBOL column stores it: the number without its suffix, true or false."""
    raw = value["value"]
    if value["type"] == "boolean":
        return "true" if raw else "false"
    return str(raw)


class Tables:
    """Every table's column types ({table: {column: TYPE}}, names lowercased); `admit` fits a row."""

    def __init__(self) -> None:
        self.columns: dict[str, dict[str, str]] = {}

    def admit(self, row: dict) -> dict:
        """The row as QuestDB stores it; IlpLineError when QuestDB refuses it."""
        check_row(row)
        seen: set[str] = set()
        symbols, fields = {}, {}
        for name, value in row["symbols"].items():
            if name.lower() == DESIGNATED:
                raise IlpLineError(f"a tag cannot be named {DESIGNATED!r}: it is the designated timestamp")
            if name.lower() not in seen:
                seen.add(name.lower())
                symbols[name] = value
        stamp = row["timestamp"]
        for name, column in row["columns"].items():
            lower = name.lower()
            if lower == DESIGNATED and DESIGNATED not in seen:
                if column["type"] != "timestamp":
                    raise IlpLineError(f"column {name!r} is the designated timestamp: it takes a timestamp, "
                                       f"not {column['type']} {column['value']!r}")
                seen.add(DESIGNATED)
                if stamp is None:
                    stamp = {"value": column["value"], "unit": column["unit"]}
                continue
            if lower not in seen:
                seen.add(lower)
                fields[name] = column
        if stamp is not None and stamp["value"] < 0:
            raise IlpLineError(f"designated timestamp {stamp['value']} is before 1970")
        table = self.columns.setdefault(row["table"].lower(), {})
        table.setdefault(DESIGNATED, designated_type(stamp))
        out_symbols, out_fields = {}, {}
        for name, value in [*((n, {"type": "symbol", "value": v}) for n, v in symbols.items()), *fields.items()]:
            have = table.get(name.lower())
            if have is None:
                table[name.lower()] = have = column_type(value)
            elif have != column_type(value):
                to = CONVERSIONS.get((have, value["type"]))
                if to is None:
                    raise IlpLineError(f"column {name!r} is {have}: QuestDB refuses {value['type']} "
                                       f"{value['value']!r} for it")
                value = convert(value, to, have)
            if value["type"] == "symbol" and "sent" not in value:
                out_symbols[name] = value["value"]
            else:
                out_fields[name] = value
        return {"table": row["table"], "symbols": out_symbols, "columns": out_fields, "timestamp": stamp}
