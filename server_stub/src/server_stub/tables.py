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
  and refuses the row otherwise; a SYMBOL column keeps any value's text as written.
- The table and its columns are made as the row is read, so a refused row keeps the columns made
  before the refusal.
- Arrays: the first array makes a DOUBLE column with its dimension count (DOUBLE[], DOUBLE[][]);
  an array of another dimension count, or a value that is not an array, is refused by it, and an
  array by any other column. A NULL array is stored in an array column; for a new column it makes
  a STRING column and is refused (measured).
- Decimals: no DECIMAL column is ever made (a decimal for a new column refuses the row and makes
  nothing); a DECIMAL(p,s) column, declared beforehand (schema.py), stores a decimal, a float, an
  integer or a string holding a decimal, rescaled to s: a value that would lose digits, or needs
  more than p digits, is refused. A decimal is refused by every other column (a NULL binary one
  aside: kept as NULL, where QuestDB stores an undefined value; server_stub/PROTOCOL.md section 8).
- A binary timestamp with an unknown unit byte makes its TIMESTAMP column, then refuses the row.

A refused row is an IlpLineError: the real server drops the connection there, as for a malformed line.
The row returned is the row as QuestDB stores it: a converted value keeps the type it was sent as in
`sent`.
"""

from __future__ import annotations

import decimal
import math

from .ilp import IlpLineError, field_texts
from .ilp.values import BadValue, decimal_value, rescale, text_decimal
from .names import check_row
from .schema import decimal_type

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


def column_type(value: dict) -> str | None:
    """The type of the column a first value creates: a nanosecond timestamp keeps nanoseconds, an
    array its dimension count; a decimal none (None), and a NULL array a STRING column."""
    kind = value["type"]
    if kind == "timestamp":
        return "TIMESTAMP_NS" if value["unit"] == "ns" else "TIMESTAMP"
    if kind == "array":
        return "STRING" if value["shape"] is None else "DOUBLE" + "[]" * len(value["shape"])
    if kind == "decimal":
        return None
    return COLUMN_TYPE[kind]


def to_decimal(value: dict, column: str) -> dict:
    """`value` stored in a DECIMAL(p,s) column: rescaled to s; IlpLineError when QuestDB refuses it."""
    precision, scale = decimal_type(column)
    kind, raw = value["type"], value["value"]
    try:
        if kind == "decimal":
            number = value
        elif kind == "integer":
            number = decimal_value(raw, 0)
        elif kind == "float":
            number = decimal_value(None, 0) if isinstance(raw, str) else text_decimal(repr(raw))
        elif kind == "string":
            number = text_decimal(raw)
        else:
            raise BadValue
    except BadValue:
        raise IlpLineError(f"column is {column}: QuestDB refuses {kind} {raw!r} for it") from None
    sent = {} if kind == "decimal" else {"sent": kind}
    binary = {"binary": True} if value.get("binary") else {}
    if number["unscaled"] is None:
        return decimal_value(None, scale) | sent | binary
    unscaled = rescale(int(number["unscaled"]), number["scale"], scale)
    if unscaled is None:
        raise IlpLineError(f"column is {column}: {number['value']} would lose digits at scale {scale}")
    if len(str(abs(unscaled))) > precision:
        raise IlpLineError(f"column is {column}: {number['value']} has more than {precision} digits")
    return decimal_value(unscaled, scale) | sent | binary


def designated_type(stamp: dict | None) -> str:
    """A designated timestamp written with the `n` suffix makes a nanosecond column; a bare one (read
    as nanoseconds) or any other unit a microsecond one."""
    return "TIMESTAMP_NS" if stamp is not None and stamp.get("suffix") == "n" else "TIMESTAMP"


def convert(value: dict, to: str, column: str, text: str | None = None) -> dict:
    """`value` stored as ILP type `to` in a column of type `column`, with `sent` naming the type it came
    as; `text` is the value as written, which a SYMBOL column keeps."""
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
    return {"type": "symbol", "value": symbol_text(value, text), "sent": kind}


def symbol_text(value: dict, text: str | None) -> str:
    """What a SYMBOL column keeps of a value: its text as written, without the suffix that typed it
    (`007i` is "007", `1e3` is "1e3", `TRUE` is "TRUE", `5t` is "5"); a string's content. A binary
    value has no text: the column keeps the server's own (Java's) text of it (binary_symbol_text)."""
    if value.get("binary"):
        return binary_symbol_text(value)
    if text is None:  # no line to read it from: the value's own text
        return ("true" if value["value"] else "false") if value["type"] == "boolean" else str(value["value"])
    if value["type"] in ("integer", "long256", "timestamp"):
        return text[:-1]
    return text


def binary_symbol_text(value: dict) -> str:
    """A binary value's text in a SYMBOL column, as measured on QuestDB 9.3.4: a double as Java's
    Double.toString writes it (1.0E20, 1.0E-4, 0.10000000149011612 for the float 0.1), a long in
    decimal with QuestDB's NULL, the minimum, as "null", a boolean as t or f, a timestamp's number
    whatever its unit byte."""
    kind, raw = value["type"], value["value"]
    if kind == "float":
        return raw if isinstance(raw, str) else java_double_text(raw)
    if kind == "boolean":
        return "t" if raw else "f"
    if kind == "integer" and raw == -(2**63):
        return "null"
    return str(raw)


def java_double_text(number: float) -> str:
    """Java's Double.toString: plain with at least one decimal between 10^-3 and 10^7, otherwise one
    digit, a point, the rest and E with the exponent; the digits are the shortest that read back."""
    if number == 0:
        return "-0.0" if math.copysign(1, number) < 0 else "0.0"
    sign, digit_tuple, exponent = decimal.Decimal(repr(number)).as_tuple()
    digits = "".join(map(str, digit_tuple))
    power = len(digits) + exponent - 1  # the power of ten of the first digit
    digits = digits.rstrip("0") or "0"
    minus = "-" if sign else ""
    if 1e-3 <= abs(number) < 1e7:
        if power < 0:
            return f"{minus}0.{'0' * (-power - 1)}{digits}"
        whole, fraction = digits[:power + 1].ljust(power + 1, "0"), digits[power + 1:]
        return f"{minus}{whole}.{fraction or '0'}"
    return f"{minus}{digits[0]}.{digits[1:] or '0'}E{power}"


class Tables:
    """Every table's columns, for the server's lifetime: `columns` {table: {column: TYPE}} with names
    in lower case, `spelling` {table: {column: name as first written}} (the table's own name under
    the key ""). `admit` fits a row to them."""

    def __init__(self, schema: dict[str, dict[str, str]] | None = None) -> None:
        """schema: tables declared ahead of time, {table: {column: TYPE}} (schema.load_schema)."""
        self.columns: dict[str, dict[str, str]] = {}
        self.spelling: dict[str, dict[str, str]] = {}
        for table, columns in (schema or {}).items():
            self.declare(table, columns)

    def declare(self, table: str, columns: dict[str, str]) -> None:
        """Make a table as CREATE TABLE would (schema.create_sql): its columns and the designated timestamp."""
        self.columns[table.lower()] = {DESIGNATED: "TIMESTAMP"} | {k.lower(): t for k, t in columns.items()}
        self.spelling[table.lower()] = {"": table} | {k.lower(): k for k in columns}

    def admit(self, row: dict, line: bytes | None = None) -> dict:
        """The row as QuestDB stores it, names spelled as they were first written; IlpLineError when
        QuestDB refuses it. `line`, the row's text, gives the text a SYMBOL column keeps of a value.

        As QuestDB does, the table and its columns are made as the row is read, tags first, then
        fields: a row refused at a column keeps the columns before it, and one refused for its
        designated timestamp keeps them all."""
        check_row(row)
        table_key = row["table"].lower()
        fields, stamp = self._fields(row)
        types = self.columns.setdefault(table_key, {DESIGNATED: designated_type(stamp)})
        spelled = self.spelling.setdefault(table_key, {"": row["table"]})
        texts = None
        out_symbols, out_fields = {}, {}
        for name, value in fields:
            key = name.lower()
            if key == DESIGNATED:  # a field of that name is the designated timestamp
                if value["type"] != "timestamp":
                    raise IlpLineError(f"column {name!r} is the designated timestamp: it takes a timestamp, "
                                       f"not {value['type']} {value['value']!r}")
                stamp = stamp or {"value": value["value"], "unit": value["unit"]}
                continue
            have = types.get(key)
            made = column_type(value)
            sent_binary = value.get("binary", False)
            if have is None:
                if made is None:
                    raise IlpLineError(f"column {name!r} does not exist, and QuestDB makes no DECIMAL column "
                                       "from ILP: create the table first (the stub's --schema)")
                types[key] = have = made
                spelled[key] = name
                if value["type"] == "array" and value["shape"] is None:
                    raise IlpLineError(f"a NULL array cannot make column {name!r}: QuestDB makes it STRING and "
                                       "refuses the row")
            if value["type"] == "timestamp" and value["unit"] is None and have.startswith("TIMESTAMP"):
                raise IlpLineError(f"binary timestamp of column {name!r} has an unknown unit byte")
            if value["type"] == "decimal" and value["unscaled"] is None and not have.startswith("DECIMAL("):
                # QuestDB stores an undefined value here (server_stub/PROTOCOL.md section 8): the stub keeps NULL
                out_fields[spelled[key]] = value
                continue
            if have.startswith("DECIMAL("):
                value = to_decimal(value, have)
            elif value["type"] == "array":
                if not have.endswith("[]") or (value["shape"] is not None and have != made):
                    raise IlpLineError(f"column {name!r} is {have}: QuestDB refuses a {made} array for it")
            elif have != made:
                to = CONVERSIONS.get((have, value["type"]))
                if to is None:
                    raise IlpLineError(f"column {name!r} is {have}: QuestDB refuses {value['type']} "
                                       f"{value['value']!r} for it")
                if to == "symbol" and texts is None and line is not None:
                    texts = field_texts(line)
                value = convert(value, to, have, None if texts is None else texts.get(name))
                if sent_binary:
                    value["binary"] = True
            name = spelled[key]
            if value["type"] == "symbol" and "sent" not in value:
                out_symbols[name] = value["value"]
            else:
                out_fields[name] = value
        if stamp is not None and stamp["value"] < 0:
            raise IlpLineError(f"designated timestamp {stamp['value']} is before 1970")
        return {"table": spelled[""], "symbols": out_symbols, "columns": out_fields, "timestamp": stamp}

    @staticmethod
    def _fields(row: dict) -> tuple[list[tuple[str, dict]], dict | None]:
        """The row's tags (as symbol values), then its fields, each name once (its first value, names
        compared without case); and its designated timestamp."""
        seen: set[str] = set()
        fields = []
        for name, value in row["symbols"].items():
            if name.lower() == DESIGNATED:
                raise IlpLineError(f"a tag cannot be named {DESIGNATED!r}: it is the designated timestamp")
            if name.lower() not in seen:
                seen.add(name.lower())
                fields.append((name, {"type": "symbol", "value": value}))
        for name, column in row["columns"].items():
            if name.lower() not in seen:
                seen.add(name.lower())
                fields.append((name, column))
        return fields, row["timestamp"]
