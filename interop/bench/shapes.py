"""The rows payload in other shapes, for IlpStream.feed side by side (feed.py): the fixture's "all-types"
row (rows.py) with its floats as text, the same row with every float a binary double (protocol
version 2), and the text row with one more column, a 1-D DOUBLE array of 100 elements (binary).

Each line is written by server_stub.ilp.encode_row from the row dict, so the shapes differ only by
what is named: the same table, tags, columns and timestamps (base + i µs, as in rows.py). The first
line of each is parsed back before anything is measured and must give the row dict it was made from.
"""

from __future__ import annotations

import math

from server_stub.ilp import encode_row, parse_line

from .rows import ROWS_PER_CHUNK, TABLE, Payload, fixture_row, stamped_chunks

TEXT_FLOATS = "text floats"
BINARY_DOUBLES = "binary doubles"
ARRAY = "100-double array"
ARRAY_COLUMN = "readings"
ARRAY_LENGTH = 100


def text_floats_row(table: str = TABLE) -> dict:
    """The fixture's row, its table renamed: every float as text (protocol version 1)."""
    row = fixture_row()
    return {"table": table, "symbols": row["symbols"], "columns": row["columns"], "timestamp": row["timestamp"]}


def binary_doubles_row(table: str = TABLE) -> dict:
    """The same row with every float column a binary double (8 bytes after `name==` and type byte 16)."""
    row = text_floats_row(table)
    columns = {key: {**column, "binary": True} if column["type"] == "float" else column
               for key, column in row["columns"].items()}
    return {**row, "columns": columns}


def array_row(table: str = TABLE, length: int = ARRAY_LENGTH) -> dict:
    """The text-float row and one more column: a 1-D DOUBLE array of `length` elements, in binary."""
    row = text_floats_row(table)
    # Varied doubles; a few hold a byte 0x0A, a line end the splitter must skip by the array's length.
    elements = [math.sin(i) * 10.0 ** (i % 7 - 3) for i in range(length)]
    column = {"type": "array", "element": "double", "shape": [length], "value": elements, "binary": True}
    return {**row, "columns": {**row["columns"], ARRAY_COLUMN: column}}


SHAPES = {TEXT_FLOATS: text_floats_row, BINARY_DOUBLES: binary_doubles_row, ARRAY: array_row}


def build(shape: str, rows: int, rows_per_chunk: int = ROWS_PER_CHUNK) -> Payload:
    """`rows` lines of one of SHAPES, in writes of rows_per_chunk rows."""
    row = SHAPES[shape]()
    base = row["timestamp"]["value"]
    if row["timestamp"]["unit"] != "ns":
        raise ValueError(f"the {shape!r} row's timestamp is not in ns: {row['timestamp']}")
    prefix = encode_row({**row, "timestamp": None}) + b" "
    first = prefix + str(base).encode()
    if parse_line(first) != row:
        raise ValueError(f"the {shape!r} row does not parse back to its values: {first[:120]!r}")
    return Payload(rows, stamped_chunks(prefix, base, rows, rows_per_chunk), len(first) + 1, base, row)
