"""Tests for server_stub.ilp: the ILP line parser, formatter and stream splitter."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server_stub.ilp import IlpLineError, IlpStream, format_row, parse_line
from server_stub.ilp import parse as ilp_parse

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def field(line: bytes, name: str = "f") -> dict:
    """The parsed column `name` of a line."""
    return parse_line(line)["columns"][name]


def parse_error(line: bytes) -> str:
    with pytest.raises(IlpLineError) as info:
        parse_line(line)
    return str(info.value)


def feed_all(stream: IlpStream, chunks) -> tuple[list[dict], dict | None]:
    """Feed chunks in order; collect rows and the first error."""
    rows, first_error = [], None
    for chunk in chunks:
        new_rows, error = stream.feed(chunk)
        rows += new_rows
        first_error = first_error or error
        assert stream.pending <= stream.max_line_bytes
    return rows, first_error


def drawn_chunks(data, payload: bytes, most: int) -> list[bytes]:
    """payload cut at up to `most` places that hypothesis draws."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=most)))
    return [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)])]


def as_json(row: dict) -> str:
    """Canonical JSON text of a row: equal text means equal types, values and order."""
    return json.dumps(row, allow_nan=False, ensure_ascii=False)


# ---------------------------------------------------------------------------
# Row shape


def test_full_row_shape():
    line = b'cpu,host=a,region=eu usage=1.5,n=2i,msg="hi",ok=t,at=5t 1700000000000000000'
    assert parse_line(line) == {
        "table": "cpu",
        "symbols": {"host": "a", "region": "eu"},
        "columns": {
            "usage": {"type": "float", "value": 1.5},
            "n": {"type": "integer", "value": 2},
            "msg": {"type": "string", "value": "hi"},
            "ok": {"type": "boolean", "value": True},
            "at": {"type": "timestamp", "value": 5, "unit": "us"},
        },
        "timestamp": {"value": 1700000000000000000, "unit": "ns"},
    }


def test_tags_only_row():
    assert parse_line(b"t,a=b,c=d") == {
        "table": "t",
        "symbols": {"a": "b", "c": "d"},
        "columns": {},
        "timestamp": None,
    }


def test_parse_line_accepts_bytearray():
    assert field(bytearray(b"t f=1i")) == {"type": "integer", "value": 1}


# ---------------------------------------------------------------------------
# Integers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0i", 0),
        ("42i", 42),
        ("-42i", -42),
        ("007i", 7),
        ("-9223372036854775808i", INT64_MIN),
        # measured by nox -s diff (QuestDB 9.3.4): underscores between digits, and any number of
        # leading zeros (the 64-bit range counts the digits after them)
        ("1_000i", 1000),
        ("-1_000i", -1000),
        ("1_000_000i", 1_000_000),
        ("00000000000000000000001i", 1),
        ("-00000000000000000000009223372036854775808i", INT64_MIN),
        ("9223372036854775807i", INT64_MAX),
    ],
)
def test_integer(text, value):
    column = field(b"t f=" + text.encode())
    assert column == {"type": "integer", "value": value}
    assert type(column["value"]) is int


@pytest.mark.parametrize(
    "text", ["9223372036854775808i", "-9223372036854775809i", "1" * 5000 + "i"]
)
def test_integer_overflow_is_an_error(text):
    message = parse_error(b"t f=" + text.encode())
    assert "out of 64-bit signed range" in message
    assert "'f'" in message


@pytest.mark.parametrize(
    "text",
    ["i", "-i", "1.5i", "+1i", "_1i", "-_1i", "_i", "١i", "1e3i", "--1i", "0b1i", "0xi", "0xg1i", "-0x10i",
     "0x" + "1" * 65 + "i"],
)
def test_invalid_integer_is_an_error(text):
    """A leading underscore stays an error, measured by nox -s diff; so does a LONG256 without hex
    digits, with more than 64 of them, or with a sign."""
    assert "invalid integer" in parse_error(b"t f=" + text.encode())


@pytest.mark.parametrize(
    "text", ["0x10", "0x0", "0xABCdef", "0x" + "f" * 64, "0x" + "0" * 63 + "1"]
)
def test_hex_integer_is_a_long256(text):
    """0x, 1 to 64 hex digits, then i: a LONG256 value, its text kept as written (measured by nox -s diff)."""
    assert field(b"t f=" + text.encode() + b"i,g=1i") == {"type": "long256", "value": text}


def test_hex_without_the_i_suffix_is_not_a_long256():
    assert "unknown value form in field 'f': '0x10'" in parse_error(b"t f=0x10")


# ---------------------------------------------------------------------------
# Floats


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5", 1.5),
        ("-1.5", -1.5),
        ("1e10", 1e10),
        ("1.5E-3", 1.5e-3),
        ("1E+3", 1000.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("5.", 5.0),
        ("123", 123.0),
        ("0", 0.0),
        ("-0.0", -0.0),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("5e-324", 5e-324),
        ("4.9e-324", 5e-324),
        # a zero mantissa is zero whatever the exponent: nothing is lost
        ("0e-400", 0.0),
        ("0.000e999", 0.0),
        # measured by nox -s diff (QuestDB 9.3.4): a leading plus sign is allowed
        ("+1.5", 1.5),
        ("+.5", 0.5),
        ("+1e3", 1000.0),
        ("+0", 0.0),
    ],
)
def test_float(text, value):
    column = field(b"t f=" + text.encode())
    assert column == {"type": "float", "value": value}
    assert type(column["value"]) is float
    assert math.copysign(1, column["value"]) == math.copysign(1, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
     # signed spellings, measured by nox -s diff: a NaN has no sign
     ("-NaN", "NaN"), ("+NaN", "NaN"), ("+Infinity", "Infinity")],
)
def test_non_finite_float_is_a_json_string(text, value):
    assert field(b"t f=" + text.encode() + b",g=1i") == {"type": "float", "value": value}


@pytest.mark.parametrize("text", ["1e999", "-1e999", "1e309", "-1e309", "1" * 400])
def test_float_too_large_for_a_double_is_an_error(text):
    """QuestDB refuses it rather than read Infinity, measured by nox -s diff."""
    message = parse_error(b"t f=" + text.encode() + b",g=1i")
    assert "float out of range in field 'f'" in message
    assert "(too small)" not in message


@pytest.mark.parametrize("text", ["1e-400", "-1e-400", "2e-325", "0.001e-323"])
def test_float_too_small_for_a_double_is_an_error(text):
    """A non-zero mantissa that a double can only read as zero is refused, measured by nox -s diff."""
    assert "float out of range (too small) in field 'f'" in parse_error(b"t f=" + text.encode() + b",g=1i")


@pytest.mark.parametrize(
    "text",
    ["1.2.3", "abc", "++1.5", "+-1.5", "-+Infinity", "--NaN", "+", "nan", "NAN", "+nan", "inf", "-inf",
     "infinity", "INFINITY", "1e", "e5", ".", "-", "1_0", "١", "1.5x", "0x1p3", "1 5"],
)
def test_invalid_float_is_an_error(text):
    message = parse_error(b"t f=" + text.encode() + b",g=1")
    assert "unknown value form" in message or "invalid" in message


# ---------------------------------------------------------------------------
# Strings


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b'"hello"', "hello"),
        (b'""', ""),
        (b'"a \\"quoted\\" word"', 'a "quoted" word'),
        (b'"back\\\\slash"', "back\\slash"),
        (b'"two\\\nlines"', "two\nlines"),
        (b'"carriage\\\rreturn"', "carriage\rreturn"),
        (b'"other \\x escape"', "other x escape"),
        (b'"ends with backslash\\\\"', "ends with backslash\\"),
        (b'"spaces, commas=equals"', "spaces, commas=equals"),
        (b'"caf\xc3\xa9 \xf0\x9f\x9a\x80"', "café 🚀"),
    ],
)
def test_string(raw, value):
    assert field(b"t f=" + raw + b",g=1i 5") == {"type": "string", "value": value}


def test_unescaped_line_feed_in_string_is_an_error():
    message = parse_error(b't f="one\ntwo"')
    assert "unescaped line end inside string of field 'f' (at char 8)" in message


@pytest.mark.parametrize(
    ("raw", "value"),
    [(b'"one\rtwo"', "one\rtwo"), (b'"\r"', "\r"), (b'"a\r\r\\\rb"', "a\r\r\rb"), (b'"end\r"', "end\r")],
)
def test_raw_carriage_return_in_string_is_part_of_it(raw, value):
    """An unescaped CR inside a string is kept, measured by nox -s diff (QuestDB 9.3.4)."""
    line = b"t f=" + raw + b",g=1i 5"
    assert field(line) == {"type": "string", "value": value}
    assert as_json(ilp_parse.scan(line.decode())["columns"]["f"]) == as_json({"type": "string", "value": value})


@pytest.mark.parametrize("raw", [b'"abc', b'"abc\\"', b'"abc\\', b'"'])
def test_unterminated_string_is_an_error(raw):
    assert "unterminated string in field 'f' (at char 4)" in parse_error(b"t f=" + raw)


def test_text_after_string_is_an_error():
    assert "unexpected character after string" in parse_error(b't f="a"b')


def test_quote_inside_a_bare_field_value_is_an_error():
    assert "unknown value form" in parse_error(b't f=a"b"')


# ---------------------------------------------------------------------------
# Booleans


@pytest.mark.parametrize(
    ("text", "value"),
    [("t", True), ("T", True), ("true", True), ("True", True), ("TRUE", True),
     ("f", False), ("F", False), ("false", False), ("False", False), ("FALSE", False),
     # any mix of case, measured by nox -s diff (QuestDB 9.3.4)
     ("tRUE", True), ("TRue", True), ("tRuE", True), ("trUe", True),
     ("fALSE", False), ("fAlse", False), ("FaLsE", False)],
)
def test_boolean(text, value):
    column = field(b"t f=" + text.encode())
    assert column == {"type": "boolean", "value": value}
    assert type(column["value"]) is bool


@pytest.mark.parametrize(
    "text", ["tr", "tru", "truee", "ttrue", "TRU", "yes", "no", "1b", "fa", "fals", "falsee"]
)
def test_invalid_boolean_is_an_error(text):
    """Only t, f, true and false (in any case) are booleans, measured by nox -s diff."""
    assert "unknown value form" in parse_error(b"t f=" + text.encode())


# ---------------------------------------------------------------------------
# Timestamp columns


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [("123t", 123, "us"), ("123n", 123, "ns"), ("123m", 123, "ms"), ("-5t", -5, "us"),
     ("9223372036854775807n", INT64_MAX, "ns")],
)
def test_timestamp_column(text, value, unit):
    column = field(b"t f=" + text.encode())
    assert column == {"type": "timestamp", "value": value, "unit": unit}


@pytest.mark.parametrize("text", ["9223372036854775808t", "1.5t", "xt", "m", "n", "+1n"])
def test_invalid_timestamp_column_is_an_error(text):
    assert "timestamp" in parse_error(b"t f=" + text.encode())


# ---------------------------------------------------------------------------
# Designated timestamp


@pytest.mark.parametrize(
    ("suffix", "stamp"),
    [
        (b" 1700000000000000000", {"value": 1700000000000000000, "unit": "ns"}),
        (b" 1700000000000000t", {"value": 1700000000000000, "unit": "us"}),
        (b" 1700000000000m", {"value": 1700000000000, "unit": "ms"}),
        (b" -1", {"value": -1, "unit": "ns"}),
        (b" 0", {"value": 0, "unit": "ns"}),
        (b" 5", {"value": 5, "unit": "ns"}),
        (b" 5t", {"value": 5, "unit": "us"}),
        # underscores as in integers, measured by nox -s diff (QuestDB 9.3.4)
        (b" 1_700", {"value": 1700, "unit": "ns"}),
        (b" 1_700t", {"value": 1700, "unit": "us"}),
        (b" 007", {"value": 7, "unit": "ns"}),
    ],
)
def test_designated_timestamp(suffix, stamp):
    """A bare timestamp is nanoseconds, and its dict has no "suffix" key."""
    row = parse_line(b"t f=1i" + suffix)
    assert as_json(row["timestamp"]) == as_json(stamp)
    assert as_json(ilp_parse.scan((b"t f=1i" + suffix).decode())["timestamp"]) == as_json(stamp)


@pytest.mark.parametrize(
    ("suffix", "value"),
    [(b" 1700000000000000000n", 1700000000000000000), (b" 5n", 5), (b" -1n", -1), (b" 1_700n", 1700)],
)
def test_designated_timestamp_written_with_n_says_so(suffix, value):
    """Only the written n makes QuestDB keep nanoseconds (measured by nox -s diff): the dict says
    "suffix": "n", which a bare timestamp's dict does not."""
    stamp = {"value": value, "unit": "ns", "suffix": "n"}
    assert as_json(parse_line(b"t f=1i" + suffix)["timestamp"]) == as_json(stamp)
    assert as_json(ilp_parse.scan((b"t f=1i" + suffix).decode())["timestamp"]) == as_json(stamp)


@pytest.mark.parametrize("line", [b"t f=1i", b"t f=1i ", b"t f=1i   ", b'x f="a b"  '])
def test_designated_timestamp_absent(line):
    assert parse_line(line)["timestamp"] is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"t f=1i 12x", "invalid timestamp: '12x' (at char 7)"),
        (b"t f=1i 1.5", "invalid timestamp"),
        (b"t f=1i 9223372036854775808", "timestamp out of 64-bit signed range"),
        (b"t f=1i  5", "more than one space before the timestamp (at char 7)"),
        # any space after the timestamp, even one trailing space, measured by nox -s diff
        (b"t f=1i 5 6", "unexpected text after the timestamp (at char 8)"),
        (b"t f=1i 5 ", "unexpected text after the timestamp (at char 8)"),
        (b"t f=1i 5   ", "unexpected text after the timestamp (at char 8)"),
        (b"t f=1i 5t ", "unexpected text after the timestamp (at char 9)"),
        (b"t f=1i 1700000000000000000n ", "unexpected text after the timestamp (at char 27)"),
        (b"t f=1i _1700", "invalid timestamp: '_1700'"),
        (b"t f=1i g=2i", "invalid timestamp: 'g=2i'"),
        (b"t,a=b 123", "missing '=' after field key '123' (a designated timestamp needs"),
    ],
)
def test_invalid_designated_timestamp_is_an_error(line, problem):
    assert problem in parse_error(line)


# ---------------------------------------------------------------------------
# Names, escapes and quotes outside strings


@pytest.mark.parametrize(
    ("line", "table", "symbols", "key"),
    [
        (b"my\\ table f=1i", "my table", {}, "f"),
        (b"my\\,table f=1i", "my,table", {}, "f"),
        (b"my\\=table f=1i", "my=table", {}, "f"),
        (b"my\\\\table f=1i", "my\\table", {}, "f"),
        (b"t,tag\\ key=v f=1i", "t", {"tag key": "v"}, "f"),
        (b"t,tag\\,key=v f=1i", "t", {"tag,key": "v"}, "f"),
        (b"t,tag\\=key=v f=1i", "t", {"tag=key": "v"}, "f"),
        (b"t,k=tag\\ value f=1i", "t", {"k": "tag value"}, "f"),
        (b"t,k=tag\\,value f=1i", "t", {"k": "tag,value"}, "f"),
        (b"t,k=tag\\=value f=1i", "t", {"k": "tag=value"}, "f"),
        (b"t,k=tag\\\\value f=1i", "t", {"k": "tag\\value"}, "f"),
        (b"t field\\ key=1i", "t", {}, "field key"),
        (b"t field\\,key=1i", "t", {}, "field,key"),
        (b"t field\\=key=1i", "t", {}, "field=key"),
        (b"t field\\\\key=1i", "t", {}, "field\\key"),
        (b"t\\x f=1i", "tx", {}, "f"),
    ],
)
def test_escaped_names(line, table, symbols, key):
    row = parse_line(line)
    assert (row["table"], row["symbols"], list(row["columns"])) == (table, symbols, [key])


def test_double_quotes_outside_field_values_are_literal():
    assert parse_line(b'"t",k="v" "f"=1i') == {
        "table": '"t"',
        "symbols": {"k": '"v"'},
        "columns": {'"f"': {"type": "integer", "value": 1}},
        "timestamp": None,
    }


def test_double_quotes_in_tag_values_are_kept():
    row = parse_line(b't,k="v",q=a"b f="s"')
    assert row["table"] == "t"
    assert row["symbols"] == {"k": '"v"', "q": 'a"b'}
    assert row["columns"] == {"f": {"type": "string", "value": "s"}}


def test_quoted_tag_value_does_not_hide_a_space():
    # The quote opens no string in a tag value, so the space ends the tags
    # and 'w"' is read as a field key.
    assert "missing '=' after field key 'w\"'" in parse_error(b't,k="v w" f=1i')


def test_non_ascii_names_and_values():
    line = "température,城市=東京 señal=1.5,note=\"naïve ☃\" 1".encode()
    assert parse_line(line) == {
        "table": "température",
        "symbols": {"城市": "東京"},
        "columns": {
            "señal": {"type": "float", "value": 1.5},
            "note": {"type": "string", "value": "naïve ☃"},
        },
        "timestamp": {"value": 1, "unit": "ns"},
    }


def test_empty_tag_value_is_an_empty_symbol():
    assert parse_line(b"t,a=,b=x f=1i")["symbols"] == {"a": "", "b": "x"}


def test_other_whitespace_is_part_of_names():
    row = parse_line(b"t\tx,k=v\tw f\t=1i")
    assert row["table"] == "t\tx"
    assert row["symbols"] == {"k": "v\tw"}
    assert list(row["columns"]) == ["f\t"]


@pytest.mark.parametrize(
    ("raw", "column"),
    [
        (b"\\1i", {"type": "integer", "value": 1}),
        (b"1\\2i", {"type": "integer", "value": 12}),
        (b"1\\.5", {"type": "float", "value": 1.5}),
        (b"\\t", {"type": "boolean", "value": True}),
        (b"\\NaN", {"type": "float", "value": "NaN"}),
    ],
)
def test_backslash_in_an_unquoted_field_value_escapes_the_next_character(raw, column):
    """t a=\\1i is the integer 1, measured by nox -s diff (QuestDB 9.3.4)."""
    assert field(b"t f=" + raw + b",g=1i") == column


# ---------------------------------------------------------------------------
# Duplicates


# Measured by nox -s diff (QuestDB 9.3.4): a name given twice keeps its first value, at its position.


def test_duplicate_field_keeps_first_value_at_first_position():
    row = parse_line(b"t a=1i,b=2i,a=3i")
    assert list(row["columns"].items()) == [
        ("a", {"type": "integer", "value": 1}),
        ("b", {"type": "integer", "value": 2}),
    ]


def test_duplicate_field_of_another_type_keeps_the_first_value():
    assert parse_line(b't a="x",a=2.5,a=t')["columns"] == {"a": {"type": "string", "value": "x"}}


def test_duplicate_tag_keeps_first_value_at_first_position():
    assert list(parse_line(b"t,a=x,b=y,a=z f=1i")["symbols"].items()) == [("a", "x"), ("b", "y")]


def test_field_named_like_a_tag_is_kept_beside_the_tag():
    """parse_line keeps both; the server's tables (tables.py) then keep the tag."""
    row = parse_line(b"t,a=x,b=y a=1i")
    assert row["symbols"] == {"a": "x", "b": "y"}
    assert row["columns"] == {"a": {"type": "integer", "value": 1}}


def test_duplicates_in_scanned_line_keep_first_values():
    line = b't,a=x,a=y a="1",a="2",b=\\3i,b=4i'  # the escape sends it past the fast path
    assert ilp_parse.match_line(line.decode()) is None
    row = parse_line(line)
    assert row["symbols"] == {"a": "x"}
    assert row["columns"] == {"a": {"type": "string", "value": "1"}, "b": {"type": "integer", "value": 3}}


# ---------------------------------------------------------------------------
# Trailing commas, measured by nox -s diff (QuestDB 9.3.4): one comma may end the tags or the fields.


@pytest.mark.parametrize(
    ("line", "symbols", "columns"),
    [
        (b"t f=1i,", {}, {"f": {"type": "integer", "value": 1}}),
        (b't a=1i,s="v",', {}, {"a": {"type": "integer", "value": 1}, "s": {"type": "string", "value": "v"}}),
        (b"t,a=b, f=1i", {"a": "b"}, {"f": {"type": "integer", "value": 1}}),
        (b"t,a=b,", {"a": "b"}, {}),
        (b"t,a=b,c=, f=1i,", {"a": "b", "c": ""}, {"f": {"type": "integer", "value": 1}}),
        (b"t, f=1i", {}, {"f": {"type": "integer", "value": 1}}),
    ],
)
def test_trailing_comma_is_accepted(line, symbols, columns):
    assert parse_line(line) == {"table": "t", "symbols": symbols, "columns": columns, "timestamp": None}


# ---------------------------------------------------------------------------
# Malformed lines


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"", "empty line"),
        (b"t", "line has no fields or tags"),
        (b"t ", "line has no fields or tags"),
        (b" f=1i", "missing table name (at char 0)"),
        (b",a=b f=1i", "missing table name"),
        (b"t=x f=1i", "unescaped '=' in table name (at char 1)"),
        (b"t,=b f=1i", "empty tag key (at char 2)"),
        (b"t,,a=b f=1i", "empty tag key (at char 2)"),
        (b"t,", "line has no fields or tags"),
        (b"t,a f=1i", "missing '=' after tag key 'a' (at char 3)"),
        (b"t,a", "missing '=' after tag key 'a'"),
        (b"t,a=b=c f=1i", "unescaped '=' in value of tag 'a' (at char 5)"),
        (b"t =1i", "empty field key (at char 2)"),
        (b"t f=1i,,g=2i", "empty field key (at char 7)"),
        (b"t f", "missing '=' after field key 'f' (a designated timestamp needs at least one field)"),
        (b"t f=1i,g", "missing '=' after field key 'g' (at char 8)"),
        (b"t f=", "unknown value form in field 'f': '' (at char 4)"),
        (b"t f=,g=1i", "unknown value form in field 'f': ''"),
        (b"t f=1i=2", "unknown value form in field 'f': '1i=2'"),
        (b"t  f=1i", "empty field key (at char 2)"),
        (b"t,a=b  f=1i", "empty field key"),
        (b"t f=1i\\", "unknown value form"),
        (b"t\\", "backslash at end of line in table name"),
        (b"t,a=b\\", "backslash at end of line in value of tag 'a'"),
        (b"t\nx f=1i", "line end character in table name (at char 1)"),
        (b"t\\\nx f=1i", "line end character in table name (at char 2)"),
        (b"t,a=b\rc f=1i", "line end character in value of tag 'a'"),
        (b"t f=1i\nt g=2i", "line end character in value of field 'f' (at char 6)"),
    ],
)
def test_malformed_line(line, problem):
    assert problem in parse_error(line)


@pytest.mark.parametrize(
    ("line", "offset"),
    [(b"t f=\xff", 4), (b"\xc0\xaf f=1i", 0), (b"t f=\xed\xa0\x80", 4), (b"caf\xc3 f=1i", 3)],
)
def test_invalid_utf8_is_an_error(line, offset):
    with pytest.raises(IlpLineError) as info:
        parse_line(line)
    assert f"invalid UTF-8 (at byte {offset})" in str(info.value)
    assert info.value.offset == offset


def test_error_is_a_value_error_with_an_offset():
    with pytest.raises(ValueError) as info:
        parse_line(b"t f=1i,g=oops")
    assert isinstance(info.value, IlpLineError)
    assert info.value.offset == 9
    assert "'g'" in str(info.value)


# ---------------------------------------------------------------------------
# The fast path and the scanner agree

AGREEMENT_LINES = [
    b"t f=1i",
    b"cpu,host=a,region=b usage=1.5,idle=2i,ok=t,at=5t 17n",
    b"t,a=,b=c f=1e5,g=-.5 -3m",
    b"t,a=x,b=y a=1i,a=2.5",
    b"t f=NaN,g=Infinity,h=-Infinity",
    b"t f=1i   ",
    b"t f=1i 5",
    b"t f=1i,g=2.5 5t",
    b'x s="a\rb",b=tRUE,c=+1.5,d=-NaN,e=+Infinity,l=0x1fi',
    b"t,a=x,a=y a=1i,a=2i,b=3i",
]


@pytest.mark.parametrize("line", AGREEMENT_LINES)
def test_fast_path_matches_scanner(line):
    text = line.decode()
    fast = ilp_parse.match_line(text)
    assert fast is not None
    assert as_json(fast) == as_json(ilp_parse.scan(text))


# ---------------------------------------------------------------------------
# format_row


def test_format_row_writes_every_type():
    row = {
        "table": "my table",
        "symbols": {"k,1": "v=1", "empty": ""},
        "columns": {
            "i": {"type": "integer", "value": -3},
            "x": {"type": "float", "value": 0.1},
            "big": {"type": "float", "value": 1e16},
            "n": {"type": "float", "value": "NaN"},
            "p": {"type": "float", "value": "Infinity"},
            "m": {"type": "float", "value": "-Infinity"},
            "s": {"type": "string", "value": 'a "b" \\ c\nd\re'},
            "b": {"type": "boolean", "value": False},
            "tu": {"type": "timestamp", "value": 1, "unit": "us"},
            "tn": {"type": "timestamp", "value": 2, "unit": "ns"},
            "tm": {"type": "timestamp", "value": 3, "unit": "ms"},
        },
        "timestamp": {"value": 42, "unit": "us"},
    }
    line = format_row(row)
    assert line == (
        'my\\ table,k\\,1=v\\=1,empty= i=-3i,x=0.1,big=1e+16,n=NaN,p=Infinity,m=-Infinity,'
        's="a \\"b\\" \\\\ c\\\nd\\\re",b=false,tu=1t,tn=2n,tm=3m 42t'
    )
    assert parse_line(line.encode()) == row


@pytest.mark.parametrize(("unit", "suffix"), [("ns", ""), ("us", "t"), ("ms", "m")])
def test_format_row_designated_timestamp_units(unit, suffix):
    row = {"table": "t", "symbols": {}, "columns": {"f": {"type": "boolean", "value": True}},
           "timestamp": {"value": 7, "unit": unit}}
    assert format_row(row) == f"t f=true 7{suffix}"
    assert as_json(parse_line(format_row(row).encode())) == as_json(row)


def test_format_row_writes_the_n_suffix_back():
    """A designated timestamp read from "5n" keeps "suffix": "n" and is written as 5n again, so
    that the nanosecond column QuestDB makes of it (measured by nox -s diff) survives a round trip."""
    row = {"table": "t", "symbols": {}, "columns": {"f": {"type": "boolean", "value": True}},
           "timestamp": {"value": 7, "unit": "ns", "suffix": "n"}}
    assert format_row(row) == "t f=true 7n"
    assert as_json(parse_line(b"t f=true 7n")) == as_json(row)


def test_format_row_accepts_raw_non_finite_floats():
    row = {"table": "t", "symbols": {}, "timestamp": None,
           "columns": {"a": {"type": "float", "value": math.nan},
                       "b": {"type": "float", "value": -math.inf}}}
    assert format_row(row) == "t a=NaN,b=-Infinity"


@pytest.mark.parametrize(
    "row",
    [
        {"table": "", "symbols": {}, "columns": {"f": {"type": "integer", "value": 1}}, "timestamp": None},
        {"table": "t", "symbols": {}, "columns": {}, "timestamp": None},
        {"table": "t", "symbols": {"a": "b"}, "columns": {}, "timestamp": {"value": 1, "unit": "ns"}},
        {"table": "t\n", "symbols": {}, "columns": {"f": {"type": "integer", "value": 1}}, "timestamp": None},
        {"table": "t", "symbols": {"a": "b\r"}, "columns": {}, "timestamp": None},
        {"table": "t", "symbols": {"": "b"}, "columns": {}, "timestamp": None},
        {"table": "t", "symbols": {}, "columns": {"": {"type": "integer", "value": 1}}, "timestamp": None},
        {"table": "t", "symbols": {}, "columns": {"f": {"type": "integer", "value": 2**63}}, "timestamp": None},
        {"table": "t", "symbols": {}, "columns": {"f": {"type": "float", "value": "nan"}}, "timestamp": None},
        {"table": "t", "symbols": {}, "columns": {"f": {"type": "blob", "value": 1}}, "timestamp": None},
        {"table": "t", "symbols": {}, "columns": {"f": {"type": "timestamp", "value": 1, "unit": "s"}},
         "timestamp": None},
    ],
)
def test_format_row_rejects_rows_no_line_can_express(row):
    with pytest.raises(ValueError):
        format_row(row)


# ---------------------------------------------------------------------------
# IlpStream


def test_stream_line_ends():
    stream = IlpStream()
    rows, error = stream.feed(b"t a=1i\nt b=2i\r\nt c=3i\rt d=4i\n\n\r\r\nt e=5i")
    assert error is None
    assert [list(row["columns"]) for row in rows] == [["a"], ["b"], ["c"], ["d"]]
    assert stream.pending == len(b"t e=5i")
    rows, error = stream.feed(b"\n")
    assert (len(rows), error, stream.pending) == (1, None, 0)


def test_stream_only_empty_lines():
    stream = IlpStream()
    assert stream.feed(b"\n\r\n\r\n") == ([], None)
    assert stream.pending == 0


def test_stream_byte_by_byte_gives_the_same_rows():
    payload = (
        b'cpu,host=a usage=1.5,msg="multi\\\nline \\"quoted\\" \\\\" 1\r\n'
        b"t,k=\"v\" f=1i\n"
        b'weird\\ name,t\\=k=v\\,w f\\ k="a\\\rb",g=T 5m\r'
        b"\n\n"
        b"caf\xc3\xa9 s=\"\xe2\x98\x83\"\n"
    )
    whole, error = IlpStream().feed(payload)
    assert error is None
    assert len(whole) == 4
    bytewise, error = feed_all(IlpStream(), [payload[i:i + 1] for i in range(len(payload))])
    assert error is None
    assert bytewise == whole


def test_stream_keeps_rows_before_an_error_and_nothing_after():
    stream = IlpStream()
    rows, error = stream.feed(b"t a=1i\n\nt b=2i\r\nt c=oops\nt d=4i\n")
    assert [list(row["columns"]) for row in rows] == [["a"], ["b"]]
    assert error == {
        "line": 3,  # non-empty lines only
        "error": "unknown value form in field 'c': 'oops' (at char 4)",
        "text": "t c=oops",
    }
    assert stream.dead
    assert stream.pending == 0
    assert stream.feed(b"t e=5i\n") == ([], None)
    assert stream.pending == 0


def test_stream_error_in_a_later_feed():
    stream = IlpStream()
    assert len(stream.feed(b"t a=1i\nt b=")[0]) == 1
    rows, error = stream.feed(b"2i\nt c=x\n")
    assert len(rows) == 1
    assert error["line"] == 3


def test_stream_error_text_is_replaced_and_cut():
    stream = IlpStream()
    _, error = stream.feed(b"t f=\xff" + b"x" * 300 + b"\n")
    assert error["error"] == "invalid UTF-8 (at byte 4)"
    assert error["text"] == "t f=\ufffd" + "x" * 195
    assert len(error["text"]) == 200


def test_stream_escaped_line_end_in_string_continues_the_line():
    stream = IlpStream()
    rows, error = stream.feed(b't s="a\\\n')
    assert (rows, error, stream.pending) == ([], None, 8)
    rows, error = stream.feed(b'b\\\rc" 1\n')
    assert error is None
    assert rows[0]["columns"]["s"]["value"] == "a\nb\rc"


# A raw CR inside a string belongs to it (measured by nox -s diff, QuestDB 9.3.4): it must not end the line.

RAW_CR_PAYLOAD = b't s="a\rb",g=1i 5\rt h="\r" 6\r\n'


@pytest.mark.parametrize(
    "chunks",
    [
        [RAW_CR_PAYLOAD],
        [b't s="a', b'\rb",g=1i 5\r', b't h="\r" 6\r\n'],  # the CR starts a chunk
        [b't s="a\r', b'b",g=1i 5\r', b't h="\r', b'" 6\r\n'],  # the CR ends a chunk
        [b't s="a', b"\r", b'b",g=1i 5', b"\r", b't h="', b"\r", b'" 6', b"\r", b"\n"],  # each CR alone
        [RAW_CR_PAYLOAD[i:i + 1] for i in range(len(RAW_CR_PAYLOAD))],
    ],
)
def test_stream_raw_carriage_return_in_string_continues_the_line(chunks):
    stream = IlpStream()
    rows, error = feed_all(stream, chunks)
    assert error is None
    assert stream.pending == 0
    assert [(row["columns"], row["timestamp"]["value"]) for row in rows] == [
        ({"s": {"type": "string", "value": "a\rb"}, "g": {"type": "integer", "value": 1}}, 5),
        ({"h": {"type": "string", "value": "\r"}}, 6),
    ]


def test_stream_raw_carriage_return_waits_for_the_rest_of_the_line():
    stream = IlpStream()
    assert stream.feed(b't s="a\r') == ([], None)
    assert stream.pending == len(b't s="a\r')
    rows, error = stream.feed(b'b"\n')
    assert error is None
    assert [row["columns"]["s"]["value"] for row in rows] == ["a\rb"]


def test_stream_raw_carriage_return_after_the_string_ends_the_line():
    rows, error = feed_all(IlpStream(), [b't s="a"', b"\r", b"t g=2i\r"])
    assert error is None
    assert [list(row["columns"]) for row in rows] == [["s"], ["g"]]


def test_stream_escaped_line_end_outside_a_string_ends_the_line():
    stream = IlpStream()
    rows, error = stream.feed(b't,k="x\\\nt f=1i\n')
    assert rows == []
    assert error["line"] == 1
    assert "backslash at end of line" in error["error"]


def test_stream_unescaped_line_end_in_string_ends_the_line():
    stream = IlpStream()
    rows, error = stream.feed(b't f=1i\nt s="abc\ndef"\n')
    assert len(rows) == 1
    assert error["line"] == 2
    assert "unterminated string" in error["error"]
    assert error["text"] == 't s="abc'


def test_stream_quote_in_tag_value_opens_no_string():
    rows, error = IlpStream().feed(b't,k="x\\\\ f=1i\nt g=2i\n')
    assert error is None
    assert [row["symbols"] for row in rows] == [{"k": '"x\\'}, {}]
    # Had the quote opened a string, the escaped line end would not end the line.
    rows, error = IlpStream().feed(b't,k="x f=1\\\nt g=2i\n')
    assert rows == []
    assert error["text"] == 't,k="x f=1\\'


def test_stream_line_too_long_is_reported_as_soon_as_the_limit_is_passed():
    stream = IlpStream(max_line_bytes=10)
    for byte in b"t f=12345i":
        assert stream.feed(bytes([byte])) == ([], None)
    assert stream.pending == 10
    rows, error = stream.feed(b"6")
    assert rows == []
    assert error == {
        "line": 1,
        "error": "line too long: more than 10 bytes",
        "text": "t f=12345i6",
        "deviation": "line_limit",  # the limit is the stub's own, not QuestDB's
    }
    assert stream.pending == 0
    assert stream.feed(b"i\n") == ([], None)


def test_stream_line_of_exactly_the_limit_is_fine():
    stream = IlpStream(max_line_bytes=10)
    rows, error = stream.feed(b"t f=12345i\nt f=1i\n")
    assert error is None
    assert len(rows) == 2


def test_stream_complete_line_over_the_limit_is_an_error_too():
    stream = IlpStream(max_line_bytes=10)
    rows, error = stream.feed(b"t f=1i\nt f=123456i\nt f=2i\n")
    assert len(rows) == 1
    assert error["line"] == 2
    assert error["error"] == "line too long: more than 10 bytes"
    assert error["deviation"] == "line_limit"


def test_stream_buffer_stays_bounded_for_a_huge_chunk():
    stream = IlpStream(max_line_bytes=1000)
    rows, error = stream.feed(b"t f=1i\n" + b"x" * 1_000_000)
    assert len(rows) == 1
    assert error["line"] == 2
    assert stream.pending == 0


def test_stream_many_lines_in_one_chunk():
    count = 50_000
    rows, error = IlpStream().feed(b"t,k=v f=1.5,g=2i 3\n" * count)
    assert error is None
    assert len(rows) == count


def test_stream_rejects_a_non_positive_limit():
    with pytest.raises(ValueError):
        IlpStream(max_line_bytes=0)


# ---------------------------------------------------------------------------
# Property tests

# Names: any text but line ends and NUL, with the characters that need
# escaping drawn often.
NAME_CHARS = st.one_of(
    st.sampled_from(' ,="\\'),
    st.characters(exclude_categories=("Cs",), exclude_characters="\n\r\x00"),
)
NAMES = st.text(NAME_CHARS, min_size=1, max_size=10)
SYMBOL_VALUES = st.text(NAME_CHARS, max_size=10)
STRING_VALUES = st.text(
    st.one_of(st.sampled_from(' ,="\\\n\r'), st.characters(exclude_categories=("Cs",))), max_size=20
)
INT64S = st.integers(INT64_MIN, INT64_MAX)
UNITS = st.sampled_from(["ns", "us", "ms"])


def json_float(value: float):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


# Every double, infinities and NaN included: format_row writes finite ones by repr (never out of
# range) and non-finite ones as NaN / Infinity / -Infinity, which read back as the same strings.
COLUMNS = st.one_of(
    INT64S.map(lambda v: {"type": "integer", "value": v}),
    st.floats().map(lambda v: {"type": "float", "value": json_float(v)}),
    STRING_VALUES.map(lambda v: {"type": "string", "value": v}),
    st.booleans().map(lambda v: {"type": "boolean", "value": v}),
    st.tuples(INT64S, UNITS).map(lambda vu: {"type": "timestamp", "value": vu[0], "unit": vu[1]}),
)
# A designated timestamp as parse_line gives it: bare nanoseconds have no "suffix" key, ones written
# with n have "suffix": "n" (format_row writes the n back only then).
TIMESTAMPS = st.one_of(
    st.tuples(INT64S, UNITS).map(lambda vu: {"value": vu[0], "unit": vu[1]}),
    INT64S.map(lambda v: {"value": v, "unit": "ns", "suffix": "n"}),
)


@st.composite
def rows(draw) -> dict:
    # Names are unique among the tags and among the fields (a name given twice keeps its first
    # value, so the second would not come back), but a field may be named like a tag: parse_line
    # keeps both.
    tag_names = draw(st.lists(NAMES, max_size=4, unique=True))
    field_names = draw(st.lists(st.sampled_from(tag_names) | NAMES if tag_names else NAMES,
                                min_size=0 if tag_names else 1, max_size=4, unique=True))
    symbols = {name: draw(SYMBOL_VALUES) for name in tag_names}
    columns = {name: draw(COLUMNS) for name in field_names}
    # A designated timestamp needs at least one field.
    timestamp = draw(st.none() | TIMESTAMPS) if columns else None
    return {"table": draw(NAMES), "symbols": symbols, "columns": columns, "timestamp": timestamp}


@settings(deadline=None)
@given(rows())
def test_format_then_parse_gives_the_row_back(row):
    line = format_row(row).encode()
    parsed = parse_line(line)
    assert as_json(parsed) == as_json(row)
    # The scanner alone (no fast path) agrees too.
    assert as_json(ilp_parse.scan(line.decode())) == as_json(row)


@settings(deadline=None)
@given(st.lists(st.text(st.sampled_from('ab ,=\r\u00e9'), max_size=8), min_size=1, max_size=5), st.data())
def test_stream_keeps_raw_carriage_returns_in_strings_whatever_the_chunking(values, data):
    """Strings with raw CRs in them (kept by QuestDB, measured by nox -s diff), between CR line ends."""
    payload = b"".join(b't s="' + value.encode() + b'",g=1i 5\r' for value in values)
    chunks = drawn_chunks(data, payload, 10)
    stream = IlpStream()
    parsed, error = feed_all(stream, chunks)
    assert error is None
    assert stream.pending == 0
    assert [row["columns"]["s"]["value"] for row in parsed] == values


@settings(deadline=None)
@given(st.lists(rows(), max_size=8), st.data())
def test_stream_gives_the_rows_back_whatever_the_chunking(original, data):
    pieces = []
    for row in original:
        pieces.append(format_row(row).encode())
        pieces.append(data.draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n", b"\r\r\n"])))
    payload = b"".join(pieces)
    chunks = drawn_chunks(data, payload, 20)
    stream = IlpStream()
    parsed, error = feed_all(stream, chunks)
    assert error is None
    assert stream.pending == 0
    assert [as_json(row) for row in parsed] == [as_json(row) for row in original]


# Bytes that mean something to the parser, to reach deep into its states.
ILP_BYTES = st.lists(
    st.sampled_from([b"t", b"a", b"1", b"i", b".", b"-", b"e", b" ", b",", b"=", b'"', b"\\", b"\n",
                     b"\r", b"\xff", b"\xc3\xa9", b"\xe2", b"x=1i", b' s="', b"\\\n", b"NaN",
                     b"+", b"_", b"0x", b"n", b"TRUE", b"Infinity", b"e999"]),
    max_size=60,
).map(b"".join)


def outcome(stream_result):
    rows, error = stream_result
    return [as_json(row) for row in rows], error and (error["line"], error["error"])


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=200), ILP_BYTES), st.integers(1, 40), st.data())
def test_arbitrary_bytes_never_raise_and_stay_bounded(payload, max_line_bytes, data):
    chunks = drawn_chunks(data, payload, 10)
    stream = IlpStream(max_line_bytes)
    chunked = feed_all(stream, chunks)  # asserts pending <= max_line_bytes after every feed
    if chunked[1] is not None:
        # "deviation" marks the line limit, the stub's own, and nothing else
        too_long = chunked[1]["error"].startswith("line too long")
        assert set(chunked[1]) == {"line", "error", "text"} | ({"deviation"} if too_long else set())
        assert chunked[1].get("deviation", "line_limit") == "line_limit"
        assert len(chunked[1]["text"]) <= 200
        assert stream.pending == 0
    # However the bytes arrive, the rows and the verdict are the same.
    assert outcome(chunked) == outcome(IlpStream(max_line_bytes).feed(payload))


@settings(deadline=None)
@given(ILP_BYTES)
def test_fast_path_agrees_with_scanner_on_any_line(payload):
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        return
    fast = ilp_parse.match_line(text)
    try:
        scanned = ilp_parse.scan(text)
    except IlpLineError:
        assert fast is None  # every error is left to the scanner, which words it
        return
    if fast is not None:
        assert as_json(fast) == as_json(scanned)
