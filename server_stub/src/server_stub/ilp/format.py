"""Writing a row dict as an ILP line: the inverse of parse.parse_line.

format_row writes text only (protocol version 1); encode_row writes binary where a value asks for it
(protocol versions 2 and 3, as the official clients do), in the layouts of binary.py.
"""

from __future__ import annotations

from . import binary, values

_NAME_ESCAPES = str.maketrans({"\\": "\\\\", " ": "\\ ", ",": "\\,", "=": "\\="})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\\n", "\r": "\\\r"})


def format_row(row: dict) -> str:
    """Write a row dict as one text ILP line, without a line end.

    Raises ValueError for rows that no text line could express (empty table name or key, a line end
    in a name, no fields and no tags, a timestamp without fields, an unknown type or unit, an integer
    outside 64 bits, an array).
    """
    return "".join(_pieces(row, _format_value))


def encode_row(row: dict) -> bytes:
    """Write a row dict as one ILP line of protocol version 2 or 3, without a line end: a value with
    "binary": true, and every array, in binary; the rest as format_row writes it."""
    return b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in _pieces(row, _encode_value))


def _pieces(row: dict, value_of) -> list:
    symbols = row.get("symbols") or {}
    columns = row.get("columns") or {}
    timestamp = row.get("timestamp")
    if not symbols and not columns:
        raise ValueError("a row needs at least one field or tag")
    if timestamp is not None and not columns:
        raise ValueError("a designated timestamp needs at least one field")

    parts = [_escape_name(row["table"], "table name")]
    for key, value in symbols.items():
        parts.append(f",{_escape_name(key, 'tag key')}={_escape_name(value, 'tag value', True)}")
    for i, (key, column) in enumerate(columns.items()):
        parts.append(("," if i else " ") + _escape_name(key, "field key") + "=")
        parts.append(value_of(column))
    if timestamp is not None:
        # A bare designated timestamp is nanoseconds: the common form, so ns gets no suffix.
        unit = timestamp["unit"]
        suffix = timestamp.get("suffix") or ("" if unit == "ns" else _unit_suffix(unit))
        parts.append(f" {_format_integer(timestamp['value'])}{suffix}")
    return parts


def _escape_name(name: str, what: str, may_be_empty: bool = False) -> str:
    if not name and not may_be_empty:
        raise ValueError(f"empty {what}")
    if "\n" in name or "\r" in name:
        raise ValueError(f"{what} {name!r} holds a line end, which ILP cannot express")
    return name.translate(_NAME_ESCAPES)


def _encode_value(column: dict) -> str | bytes:
    if column.get("binary") or column["type"] == "array":
        return b"=" + binary.encode(column)
    return _format_value(column)


def _format_value(column: dict) -> str:
    kind = column["type"]
    value = column["value"]
    if kind == "integer":
        return _format_integer(value) + "i"
    if kind == "float":
        return _format_float(value)
    if kind == "string":
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return _format_integer(value) + _unit_suffix(column["unit"])
    if kind == "decimal":
        return ("NaN" if value is None else value) + "d"
    if kind == "array":
        raise ValueError("an array has no text form: encode_row writes it in binary")
    raise ValueError(f"unknown column type {kind!r}")


def _format_integer(value: int) -> str:
    if not values.INT64_MIN <= value <= values.INT64_MAX:
        raise ValueError(f"{value} is out of 64-bit signed range")
    return str(value)


def _format_float(value: float | str) -> str:
    if isinstance(value, str):
        if value not in values.NON_FINITE_FLOATS:
            raise ValueError(f"float value {value!r} is not NaN, Infinity or -Infinity")
        return value
    value = values.json_float(float(value))
    # repr gives the shortest text that reads back as the same double.
    return value if isinstance(value, str) else repr(value)


def _unit_suffix(unit: str) -> str:
    try:
        return values.SUFFIX_BY_UNIT[unit]
    except KeyError:
        raise ValueError(f"unknown timestamp unit {unit!r}") from None
