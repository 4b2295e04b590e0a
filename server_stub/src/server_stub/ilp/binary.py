"""Binary field values (ILP protocol versions 2 and 3): `name==` then a type byte and its payload.

The layouts, as QuestDB 9.3.4's TCP parser reads them (LineTcpParser and its array and decimal
format parsers in the server's source; checked against the official clients' buffer code and
measured on the server, server_stub/PROTOCOL.md section 6.1). Numbers are little-endian unless said:

    type  name       payload
    16    double     8 bytes, an IEEE 754 double                 -> a DOUBLE column
    2     float      4 bytes, an IEEE 754 single                 -> a DOUBLE column
    15    long       8 bytes, signed                             -> a LONG column
    3     int        4 bytes, signed                             -> a LONG column
    6     boolean    1 byte: 1 is true, any other byte false
    13    timestamp  1 unit byte (1 ns, 2 us, 3 ms), 8 bytes signed; another unit refuses the row
    14    array      element type (1 byte: 10 = double), dimension count (1 byte, at most 32),
                     each dimension (4 bytes, signed), then the elements, row-major;
                     0 dimensions is NULL, a dimension of 0 an empty array (no elements follow)
    23    decimal    scale (1 byte, signed, 0..76), length (1 byte, 0..255: 0 is NULL), then the
                     unscaled value: length bytes, big-endian two's complement

Every other type byte refuses the line. The server reads a value's bytes by its declared lengths
only, so a payload may hold any byte, a line end too; after it comes ",", " " or the line end.
Declared lengths are bounded before anything is read: an array's size is the product of its
dimensions and its element size, which must fit QuestDB's 32-bit signed count of bytes.
"""

from __future__ import annotations

import math
import struct

from . import values
from .errors import IlpLineError

DOUBLE, FLOAT, LONG, INT, BOOLEAN, TIMESTAMP, ARRAY, DECIMAL = 16, 2, 15, 3, 6, 13, 14, 23
# Fixed-size types: (payload bytes, struct format, value type).
FIXED = {DOUBLE: (8, "<d", "float"), FLOAT: (4, "<f", "float"), LONG: (8, "<q", "integer"),
         INT: (4, "<i", "integer"), BOOLEAN: (1, "<B", "boolean"), TIMESTAMP: (9, "<Bq", "timestamp")}
TIMESTAMP_UNITS = {1: "ns", 2: "us", 3: "ms"}
BYTE_OF_UNIT = {unit: byte for byte, unit in TIMESTAMP_UNITS.items()}
ARRAY_ELEMENTS = {10: ("double", 8, "d")}  # QuestDB's column type byte DOUBLE; LONG (6) is refused
ELEMENT_BYTE = {name: byte for byte, (name, _size, _fmt) in ARRAY_ELEMENTS.items()}
MAX_DIMENSIONS = 32
MAX_ARRAY_BYTES = 2**31 - 1  # QuestDB counts an array's bytes in a 32-bit signed int
MAX_DECIMAL_SCALE = values.MAX_DECIMAL_SCALE
DECIMAL_BYTES = 32  # QuestDB's Decimal256

NEVER_ENDS = "never_ends"  # the deviation of a value QuestDB reads forever (section 7)


def extent(data, pos: int, name: str, offset: int = 0) -> int | None:
    """Where the binary value whose type byte is at `pos` ends (the index after it), or None when
    `data` ends before its length is known. IlpLineError for a value the server refuses by its
    header, before reading it; `offset` is added to positions in messages (the line's start)."""
    if pos >= len(data):
        return None
    kind = data[pos]
    if kind in FIXED:
        return pos + 1 + FIXED[kind][0]
    if kind == ARRAY:
        header = _array_header(data, pos + 1, name, offset)
        return None if header is None else header[2]
    if kind == DECIMAL:
        header = _decimal_header(data, pos + 1, name, offset)
        return None if header is None else header[1]
    _fail(f"unknown binary type {kind}", name, pos, offset)


def decode(data, pos: int, name: str, offset: int = 0) -> tuple[dict, int]:
    """The value whose type byte is at `pos`, and the index after it; `data` holds all of it."""
    end = extent(data, pos, name, offset)
    if end is None or end > len(data):
        _fail("binary value cut short by the end of the line", name, pos, offset)
    kind = data[pos]
    if kind in FIXED:
        _size, fmt, of_type = FIXED[kind]
        fields = struct.unpack_from(fmt, data, pos + 1)
        if kind == TIMESTAMP:
            unit, stamp = fields
            return {"type": "timestamp", "value": stamp, "unit": TIMESTAMP_UNITS.get(unit), "binary": True}, end
        value = fields[0]
        if of_type == "float":
            value = values.json_float(value)
        elif of_type == "boolean":
            value = value == 1
        return {"type": of_type, "value": value, "binary": True}, end
    if kind == ARRAY:
        return _array(data, pos + 1, name, offset), end
    return _decimal(data, pos + 1, name, offset), end


def _fail(problem: str, name: str, pos: int, offset: int):
    raise IlpLineError(f"{problem} in binary value of field {name!r} (at byte {pos + offset})", pos + offset)


def _array_header(data, pos: int, name: str, offset: int) -> tuple[str | None, list[int] | None, int] | None:
    """(element type, shape, end) of the array whose element type byte is at pos; None while incomplete.
    A NULL array has shape None."""
    if pos >= len(data):
        return None
    element = ARRAY_ELEMENTS.get(data[pos])
    if element is None:
        _fail(f"unsupported array element type {data[pos]}", name, pos, offset)
    if pos + 1 >= len(data):
        return None
    dimensions = data[pos + 1]
    if dimensions > MAX_DIMENSIONS:
        _fail(f"too many array dimensions: {dimensions}, at most {MAX_DIMENSIONS}", name, pos + 1, offset)
    if dimensions == 0:  # NULL
        return element[0], None, pos + 2
    shape_end = pos + 2 + 4 * dimensions
    if shape_end > len(data):
        return None
    shape = list(struct.unpack_from(f"<{dimensions}i", data, pos + 2))
    if 0 in shape:  # empty: the server reads no elements
        return element[0], shape, shape_end
    if min(shape) < 0:
        raise IlpLineError(f"negative array dimension {min(shape)} in binary value of field {name!r} "
                           f"(at byte {pos + 2 + offset}): QuestDB reads the rest of the connection into it",
                           pos + 2 + offset, deviation=NEVER_ENDS)
    size = element[1] * math.prod(shape)
    if size > MAX_ARRAY_BYTES:
        _fail(f"array too large: {size} bytes, at most {MAX_ARRAY_BYTES}", name, pos + 2, offset)
    return element[0], shape, shape_end + size


def _array(data, pos: int, name: str, offset: int) -> dict:
    element, shape, end = _array_header(data, pos, name, offset)
    column = {"type": "array", "element": element, "shape": shape, "value": None, "binary": True}
    if shape is None:
        return column
    if 0 in shape:
        column["value"] = []
        return column
    _name, size, fmt = ARRAY_ELEMENTS[data[pos]]
    count = (end - (pos + 2 + 4 * len(shape))) // size
    flat = [values.json_float(v) for v in struct.unpack_from(f"<{count}{fmt}", data, end - count * size)]
    column["value"] = _nested(flat, shape)
    return column


def _nested(flat: list, shape: list[int]) -> list:
    """Row-major elements as nested lists, as numpy's tolist() gives them."""
    for length in reversed(shape[1:]):
        flat = [flat[i:i + length] for i in range(0, len(flat), length)]
    return flat


def _decimal_header(data, pos: int, name: str, offset: int) -> tuple[int, int] | None:
    """(scale, end) of the decimal whose scale byte is at pos; None while incomplete."""
    if pos >= len(data):
        return None
    scale = data[pos] - 256 if data[pos] > 127 else data[pos]
    if not 0 <= scale <= MAX_DECIMAL_SCALE:
        _fail(f"decimal scale {scale} out of range 0..{MAX_DECIMAL_SCALE}", name, pos, offset)
    if pos + 1 >= len(data):
        return None
    return scale, pos + 2 + data[pos + 1]


def _decimal(data, pos: int, name: str, offset: int) -> dict:
    scale, end = _decimal_header(data, pos, name, offset)
    length = data[pos + 1]
    if length == 0:  # NULL
        return values.decimal_value(None, scale) | {"binary": True}
    unscaled = _unscaled(bytes(data[pos + 2:end]), name, pos + 2 + offset)
    return values.decimal_value(unscaled, scale) | {"binary": True}


def _unscaled(payload: bytes, name: str, at: int) -> int:
    """The unscaled value as QuestDB loads it into its 256-bit decimal. It reads the bytes as 32-bit
    big-endian words (the first one sign-extended from its 1 to 4 bytes); words before the last 8
    must be 0, or the value overflows. It then takes the last ((words - 1) % 8) + 1 words, with the
    first word's sign: for up to 32 bytes that is plain two's complement, but a longer value keeps
    only its low words (measured: 33 bytes 0x00..05 store 5; a negative value of 33 bytes overflows)."""
    head = len(payload) % 4 or 4
    words = [int.from_bytes(payload[:head], "big", signed=True)]
    words += [int.from_bytes(payload[i:i + 4], "big") for i in range(head, len(payload), 4)]
    if any(words[:-8]):
        raise IlpLineError(f"decimal of {len(payload)} bytes does not fit 256 bits in binary value of field {name!r} "
                           f"(at byte {at})", at)
    kept = words[-((len(words) - 1) % 8 + 1):]
    value = int.from_bytes(b"".join((w & 0xFFFFFFFF).to_bytes(4, "big") for w in kept), "big")
    if words[0] < 0:
        value -= 1 << (32 * len(kept))
    if value >= 1 << 255:  # the 256 bits are signed
        value -= 1 << 256
    return value


def encode(column: dict) -> bytes:
    """A value in the official clients' binary layout: the type byte and its payload (what follows
    `name==`). For doubles, longs, booleans, timestamps, arrays of doubles and decimals."""
    kind = column["type"]
    if kind == "float":
        return bytes([DOUBLE]) + struct.pack("<d", float(column["value"]))
    if kind == "integer":
        return bytes([LONG]) + struct.pack("<q", column["value"])
    if kind == "boolean":
        return bytes([BOOLEAN, 1 if column["value"] else 0])
    if kind == "timestamp":
        return bytes([TIMESTAMP, BYTE_OF_UNIT[column["unit"]]]) + struct.pack("<q", column["value"])
    if kind == "array":
        return _encode_array(column)
    if kind == "decimal":
        return _encode_decimal(column)
    raise ValueError(f"type {kind!r} has no binary form")


def _encode_array(column: dict) -> bytes:
    element = ELEMENT_BYTE[column.get("element", "double")]
    shape = column["shape"]
    if shape is None:
        return bytes([ARRAY, element, 0])
    if len(shape) > MAX_DIMENSIONS:
        raise ValueError(f"an array has at most {MAX_DIMENSIONS} dimensions")
    flat = column["value"]
    for _ in shape[1:]:
        flat = [x for inner in flat for x in inner]
    if 0 not in shape and len(flat) != math.prod(shape):
        raise ValueError(f"shape {shape} does not match {len(flat)} elements")
    elements = b"" if 0 in shape else struct.pack(f"<{len(flat)}d", *map(float, flat))
    return bytes([ARRAY, element, len(shape)]) + struct.pack(f"<{len(shape)}i", *shape) + elements


def decimal_length(unscaled: int) -> int:
    """The fewest bytes that hold `unscaled` in two's complement, its sign included."""
    return (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1


def _encode_decimal(column: dict) -> bytes:
    scale = column["scale"]
    if column["unscaled"] is None:
        return bytes([DECIMAL, scale, 0])
    unscaled = int(column["unscaled"])
    length = decimal_length(unscaled)
    if length > DECIMAL_BYTES:
        raise ValueError("a decimal's unscaled value has at most 256 bits")
    return bytes([DECIMAL, scale, length]) + unscaled.to_bytes(length, "big", signed=True)
