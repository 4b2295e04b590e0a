"""Binary field values (protocol versions 2 and 3) and text decimals: the layouts of
server_stub.ilp.binary read back as typed values, the splitter that skips them by length, their
errors in process and on a socket, and what the server's tables do with arrays and decimals."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rows import authenticated
from wire import closed_by_peer

from server_stub import run_stub
from server_stub.ilp import IlpLineError, IlpStream, encode_row, parse_line
from server_stub.ilp.binary import MAX_DIMENSIONS
from server_stub.schema import SchemaError, create_sql, load_schema
from server_stub.tables import Tables


def binary(type_byte: int, payload: bytes = b"") -> bytes:
    return b"==" + bytes([type_byte]) + payload


def array(shape, values=(), element=10) -> bytes:
    return binary(14, bytes([element, len(shape)]) + struct.pack(f"<{len(shape)}i", *shape)
                  + struct.pack(f"<{len(values)}d", *values))


def decimal(scale: int, unscaled: int, length: int | None = None) -> bytes:
    length = max(1, (unscaled.bit_length() + 8) // 8) if length is None else length
    return binary(23, bytes([scale & 0xFF, length]) + unscaled.to_bytes(length, "big", signed=True))


def value(line: bytes, name: str = "x") -> dict:
    return parse_line(line)["columns"][name]


def feed_pieces(data: bytes, cuts) -> tuple[list[dict], dict | None]:
    stream, rows = IlpStream(), []
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    for piece in pieces:
        got, error = stream.feed(piece)
        rows += got
        if error:
            return rows, error
    return rows, None


# --- each layout ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "expected"), [
    (binary(16, struct.pack("<d", 1.5)), {"type": "float", "value": 1.5, "binary": True}),
    (binary(16, struct.pack("<d", math.inf)), {"type": "float", "value": "Infinity", "binary": True}),
    (binary(2, struct.pack("<f", 2.5)), {"type": "float", "value": 2.5, "binary": True}),
    (binary(15, struct.pack("<q", -2**63)), {"type": "integer", "value": -2**63, "binary": True}),
    (binary(3, struct.pack("<i", -7)), {"type": "integer", "value": -7, "binary": True}),
    (binary(6, b"\x01"), {"type": "boolean", "value": True, "binary": True}),
    (binary(6, b"\x02"), {"type": "boolean", "value": False, "binary": True}),  # only 1 is true (measured)
    (binary(13, b"\x02" + struct.pack("<q", 5)), {"type": "timestamp", "value": 5, "unit": "us", "binary": True}),
    (binary(13, b"\x01" + struct.pack("<q", 5)), {"type": "timestamp", "value": 5, "unit": "ns", "binary": True}),
    (binary(13, b"\x03" + struct.pack("<q", 5)), {"type": "timestamp", "value": 5, "unit": "ms", "binary": True}),
    (binary(13, b"\x09" + struct.pack("<q", 5)), {"type": "timestamp", "value": 5, "unit": None, "binary": True}),
    (array([2, 2], [1.0, 2.0, 3.0, math.nan]),
     {"type": "array", "element": "double", "shape": [2, 2], "value": [[1.0, 2.0], [3.0, "NaN"]], "binary": True}),
    (array([2, 0]), {"type": "array", "element": "double", "shape": [2, 0], "value": [], "binary": True}),
    (array([]), {"type": "array", "element": "double", "shape": None, "value": None, "binary": True}),
    (decimal(2, -12345), {"type": "decimal", "scale": 2, "unscaled": "-12345", "value": "-123.45", "binary": True}),
    (decimal(3, 5), {"type": "decimal", "scale": 3, "unscaled": "5", "value": "0.005", "binary": True}),
    (binary(23, b"\x04\x00"), {"type": "decimal", "scale": 4, "unscaled": None, "value": None, "binary": True}),
    # QuestDB keeps only the low word of a 33-byte value (measured: 0x00 then 5 stores 5)
    (decimal(2, 5, 33), {"type": "decimal", "scale": 2, "unscaled": "5", "value": "0.05", "binary": True}),
])
def test_each_binary_layout_reads_as_its_typed_value(payload, expected):
    assert value(b"t x" + payload + b",y=1i 7") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("123.45d", ("123.45", 2)), ("-0.5d", ("-0.5", 1)), ("1e3d", ("1000", 0)), ("42d", ("42", 0)),
    (".5d", ("0.5", 1)), ("NaNd", (None, 0)),
])
def test_a_text_decimal_is_its_digits_and_scale(text, expected):
    column = value(f"t x={text}".encode())
    assert (column["type"], column["value"], column["scale"]) == ("decimal", *expected)


@pytest.mark.parametrize(("payload", "problem"), [
    (binary(99, b"abc"), "unknown binary type 99"),
    (binary(4, b"abc"), "unknown binary type 4"),  # a string has no binary form
    (array([1], [1.0], element=6), "unsupported array element type 6"),  # measured: LONG arrays refused
    (array([1] * (MAX_DIMENSIONS + 1), [1.0]), "too many array dimensions: 33"),
    (array([65536, 65536], [1.0]), "array too large"),
    (binary(23, bytes([77, 1, 5])), "decimal scale 77 out of range"),
    (binary(23, bytes([0xFF, 1, 5])), "decimal scale -1 out of range"),
    (decimal(2, -5, 33), "does not fit 256 bits"),
])
def test_a_malformed_binary_value_is_an_error_naming_field_offset_and_problem(payload, problem):
    with pytest.raises(IlpLineError) as raised:
        parse_line(b"t,a=b val" + payload + b",y=1i")
    assert problem in str(raised.value) and "'val'" in str(raised.value)
    assert raised.value.offset is not None and f"(at byte {raised.value.offset})" in str(raised.value)
    rows, error = IlpStream().feed(b"t ok=1i\nt,a=b val" + payload + b",y=1i\nt ok=2i\n")
    assert len(rows) == 1 and problem in error["error"] and error["line"] == 2


def test_bytes_after_a_binary_value_must_be_a_separator():
    with pytest.raises(IlpLineError, match="unexpected byte after binary value of field 'x'"):
        parse_line(b"t x" + binary(16, struct.pack("<d", 1.5)) + b"y=1i")


def test_double_equals_is_binary_only_in_a_field():
    for line in (b"t,a==" + bytes([16]) + bytes(8) + b" y=1i", b"t==" + bytes([16]) + bytes(8) + b" y=1i"):
        with pytest.raises(IlpLineError, match="unescaped '='"):
            parse_line(line)


def test_a_negative_dimension_is_the_deviation_questdb_reads_forever():
    rows, error = IlpStream().feed(b"t x" + array([-1], [1.0]) + b"\nt ok=1i\n")
    assert rows == [] and error["deviation"] == "never_ends" and "negative array dimension" in error["error"]


def test_a_declared_length_past_the_line_limit_fails_before_its_bytes_arrive():
    rows, error = IlpStream(max_line_bytes=1000).feed(b"t x" + array([1000])[:16])
    assert rows == [] and error["deviation"] == "line_limit" and "binary value declares 8007 bytes" in error["error"]


def test_a_line_end_inside_a_binary_value_does_not_end_the_line():
    line = b"t x" + binary(16, b"\n" * 8) + b",y" + array([2], [struct.unpack("<d", b"\r\n" * 4)[0]] * 2) + b" 5\n"
    for cuts in ([], list(range(1, len(line))), [4, 5, 6, 20]):
        rows, error = feed_pieces(line, cuts)
        assert error is None and len(rows) == 1 and rows[0]["timestamp"] == {"value": 5, "unit": "ns"}


# --- round trips ---------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
element = st.one_of(finite, st.sampled_from(["NaN", "Infinity", "-Infinity"]))


@st.composite
def arrays(draw):
    shape = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    if 0 in shape:
        return {"type": "array", "element": "double", "shape": shape, "value": []}
    flat = draw(st.lists(element, min_size=math.prod(shape), max_size=math.prod(shape)))
    for length in reversed(shape[1:]):
        flat = [flat[i:i + length] for i in range(0, len(flat), length)]
    return {"type": "array", "element": "double", "shape": shape, "value": flat}


@st.composite
def decimals(draw):
    scale = draw(st.integers(0, 76))
    unscaled = draw(st.integers(-(2**255), 2**255 - 1))
    digits = str(abs(unscaled)).rjust(scale + 1, "0")
    text = ("-" if unscaled < 0 else "") + digits[:len(digits) - scale] + ("." + digits[-scale:] if scale else "")
    return {"type": "decimal", "scale": scale, "unscaled": str(unscaled), "value": text}


binary_values = st.one_of(
    st.builds(lambda v: {"type": "float", "value": v}, element),
    st.builds(lambda v: {"type": "integer", "value": v}, st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: {"type": "boolean", "value": v}, st.booleans()),
    st.builds(lambda v, u: {"type": "timestamp", "value": v, "unit": u},
              st.integers(-(2**63), 2**63 - 1), st.sampled_from(["ns", "us", "ms"])),
    arrays(), decimals(),
)
names = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=1, max_size=8)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names, binary_values, min_size=1, max_size=5), st.data())
def test_typed_values_survive_the_official_encoding_and_the_parser(columns, data):
    sent = {name: column | {"binary": True} for name, column in columns.items()}
    row = {"table": "t", "symbols": {}, "columns": sent, "timestamp": {"value": 5, "unit": "ns"}}
    line = encode_row(row) + b"\n"
    assert parse_line(line[:-1]) == row
    cuts = sorted(data.draw(st.sets(st.integers(1, len(line) - 1), max_size=6)))
    assert feed_pieces(line, cuts) == ([row], None)


@settings(max_examples=500, deadline=2000)
@given(st.binary(max_size=300), st.sampled_from([b"\n", b"", b",y=1i\n", b" 5\n"]))
def test_any_bytes_after_double_equals_never_crash_or_hang_the_stream(payload, tail):
    rows, error = IlpStream(max_line_bytes=4096).feed(b"t ok=1i\nt x==" + payload + tail + b"t ok=2i\n")
    assert rows[:1] == [parse_line(b"t ok=1i")]
    assert error is None or set(error) <= {"line", "error", "text", "deviation"}


# --- on a socket: the error closes the connection, the rows before it are kept ---------------------

SOCKET_ERRORS = {
    "unknown type byte": (binary(99, b"abc"), "unknown binary type 99"),
    "unsupported element type": (array([1], [1.0], element=6), "unsupported array element type 6"),
    "too many dimensions": (array([1] * 33, [1.0]), "too many array dimensions"),
    "too large": (array([65536, 65536], [1.0]), "array too large"),
    "scale out of range": (binary(23, bytes([77, 1, 5])), "decimal scale 77 out of range"),
    "decimal past 256 bits": (decimal(0, -5, 33), "does not fit 256 bits"),
    # shape and length not matching: the elements declared take the bytes after them as their own
    # (16 here), and what follows them is not a separator
    "shape longer than its elements": (array([3], [1.0]) + b"sixteen bytes...q", "unexpected byte after binary"),
}


@pytest.mark.parametrize("problem", SOCKET_ERRORS)
def test_on_a_socket_a_malformed_binary_value_closes_and_keeps_earlier_rows(two_keys, problem):
    payload, message = SOCKET_ERRORS[problem]
    with run_stub(two_keys[0]) as stub:
        sock = authenticated(stub, two_keys, b"t a=1i\nt x" + payload + b"\nt a=3i\nt a=4i\nt a=5i\n")
        assert closed_by_peer(sock)
        (close,) = stub.wait_for_closed(1)
        (error,) = stub.events("ilp_error")
        assert message in error["error"] and "field 'x'" in error["error"] and error["line"] == 2
        assert (close["cause"], close["rows"]) == ("ilp_error", 1)


def test_on_a_socket_binary_rows_arrive_typed(two_keys, tmp_path):
    schema = tmp_path / "schema.toml"
    schema.write_text('[table.prices]\ncolumns = { price = "DECIMAL(18,4)" }\n')
    with run_stub(two_keys[0], schema=str(schema)) as stub:
        sock = authenticated(stub, two_keys, b"prices price" + decimal(2, -12345) + b",v" + array([2], [1.0, 2.0])
                             + b"\nprices price=1.5d\n")
        sock.close()
        stub.wait_for_closed(1)
        first, second = stub.events("row")
    assert first["columns"]["price"] == {"type": "decimal", "scale": 4, "unscaled": "-1234500", "value": "-123.4500",
                                         "binary": True}
    assert first["columns"]["v"]["value"] == [1.0, 2.0]
    assert second["columns"]["price"]["value"] == "1.5000"


# --- the server's tables --------------------------------------------------------------------------

def admit(tables: Tables, line: bytes) -> dict:
    return tables.admit(parse_line(line), line)


def test_decimal_columns_are_never_made_but_declared_ones_rescale():
    tables = Tables({"p": {"x": "DECIMAL(18,4)"}})
    with pytest.raises(IlpLineError, match="makes no DECIMAL column"):
        admit(tables, b"q x=1.5d")
    assert admit(tables, b"p x" + decimal(2, 12345))["columns"]["x"]["value"] == "123.4500"
    assert admit(tables, b"p x=7i")["columns"]["x"] | {} == {
        "type": "decimal", "scale": 4, "unscaled": "70000", "value": "7.0000", "sent": "integer"}
    for refused in (b"p x" + decimal(6, 1234567), b"p x=12345678901234567890.5d", b"p x=1.2.3d"):
        with pytest.raises(IlpLineError):
            admit(tables, refused)


def test_an_array_column_keeps_its_dimension_count():
    tables = Tables()
    admit(tables, b"a x" + array([2], [1.0, 2.0]))
    assert tables.columns["a"]["x"] == "DOUBLE[]"
    assert admit(tables, b"a x" + array([]))["columns"]["x"]["value"] is None  # NULL into an array column
    for refused in (b"a x" + array([1, 1], [1.0]), b"a x=1.5"):
        with pytest.raises(IlpLineError):
            admit(tables, refused)
    with pytest.raises(IlpLineError, match="NULL array cannot make"):
        admit(tables, b"b x" + array([]))
    assert tables.columns["b"]["x"] == "STRING"  # measured: made, then the row refused


def test_a_schema_file_is_checked_and_gives_questdb_its_create_statement(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[table.p]\ncolumns = { x = "DECIMAL(18,4)", v = "DOUBLE[]" }\n')
    assert load_schema(path) == {"p": {"x": "DECIMAL(18,4)", "v": "DOUBLE[]"}}
    assert create_sql("p", load_schema(path)["p"]) == (
        "CREATE TABLE 'p' (\"x\" DECIMAL(18,4), \"v\" DOUBLE[], timestamp TIMESTAMP) timestamp(timestamp) "
        "PARTITION BY DAY WAL")
    for bad in ('[table.p]\ncolumns = { x = "DECIMAL(80,2)" }\n', '[table.p]\ncols = {}\n', "[other]\n",
                '[table.p]\ncolumns = { timestamp = "LONG" }\n'):
        path.write_text(bad)
        with pytest.raises(SchemaError, match=str(path)):
            load_schema(path)
