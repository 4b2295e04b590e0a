"""The server's tables (tables.py): what QuestDB 9.3.4 does with a row, measured by the differential
run (`nox -s diff`, classes IlpSchema and IlpStructure) and replayed from its ground truth by
interop/tests/test_diff.py; here each rule on its own."""

from __future__ import annotations

import pytest

from server_stub.ilp import IlpLineError, IlpStream, parse_line
from server_stub.tables import Tables

VALUES = {"integer": "1i", "float": "1.5", "string": '"x"', "boolean": "true", "timestamp": "1700000000000000t"}


def admit(tables: Tables, line: str) -> dict:
    return tables.admit(parse_line(line.encode()))


# (column made by, then sent) -> what the row's v becomes, or None: the row is refused
STORED = {
    ("integer", "boolean"): {"type": "integer", "value": 1, "sent": "boolean"},
    ("float", "integer"): {"type": "float", "value": 1.0, "sent": "integer"},
    ("float", "boolean"): {"type": "float", "value": 1.0, "sent": "boolean"},
    ("timestamp", "integer"): {"type": "timestamp", "value": 1, "unit": "us", "sent": "integer"},
}


@pytest.mark.parametrize("first", list(VALUES))
@pytest.mark.parametrize("then", list(VALUES))
def test_a_value_is_fitted_to_its_columns_type_or_refused(first, then):
    tables = Tables()
    admit(tables, f"t v={VALUES[first]}")
    if first == then:
        assert admit(tables, f"t v={VALUES[then]}")["columns"]["v"]["type"] == then
    elif (first, then) in STORED:
        assert admit(tables, f"t v={VALUES[then]}")["columns"]["v"] == STORED[(first, then)]
    else:
        with pytest.raises(IlpLineError, match="column 'v' is"):
            admit(tables, f"t v={VALUES[then]}")


@pytest.mark.parametrize("then", list(VALUES))
def test_a_symbol_column_takes_any_value_as_its_text(then):
    tables = Tables()
    admit(tables, "t,v=a n=1i")
    stored = admit(tables, f"t v={VALUES[then]}")["columns"]["v"]
    assert stored["type"] == "symbol" and stored["sent"] == then
    assert stored["value"] == {"integer": "1", "float": "1.5", "string": "x", "boolean": "true",
                               "timestamp": "1700000000000000"}[then]


def test_a_string_column_takes_a_symbol_as_a_string():
    tables = Tables()
    admit(tables, 't v="x"')
    assert admit(tables, "t,v=y n=1i")["columns"]["v"] == {"type": "string", "value": "y", "sent": "symbol"}


def test_names_are_compared_without_case_and_the_first_value_wins():
    tables = Tables()
    row = admit(tables, "t,a=x,A=y b=1i,B=2i,a=3i")
    assert row["symbols"] == {"a": "x"} and row["columns"] == {"b": {"type": "integer", "value": 1}}
    with pytest.raises(IlpLineError):  # "T" is table "t", whose "b" is LONG
        admit(tables, 'T B="x"')


def test_the_designated_timestamp_column():
    tables = Tables()
    assert admit(tables, "t timestamp=5t")["timestamp"] == {"value": 5, "unit": "us"}
    for refused in ("t timestamp=1i", "t,timestamp=x a=1i", "t a=1i -1"):
        with pytest.raises(IlpLineError):
            admit(Tables(), refused)


def test_a_nanosecond_designated_timestamp_makes_a_nanosecond_column():
    tables = Tables()
    admit(tables, "t a=1i 5n")
    admit(tables, "u a=1i 5")
    assert tables.columns["t"]["timestamp"] == "TIMESTAMP_NS" and tables.columns["u"]["timestamp"] == "TIMESTAMP"


def test_the_tables_outlive_a_connection():
    tables = Tables()
    first, second = IlpStream(check_row=tables.admit), IlpStream(check_row=tables.admit)
    assert first.feed(b"t v=1i\n")[1] is None
    rows, error = second.feed(b't v="x"\nt v=2i\n')
    assert rows == [] and "column 'v' is LONG" in error["error"]


def test_a_name_keeps_the_spelling_it_was_first_written_in():
    tables = Tables()
    admit(tables, "Cpu,Host=a v=1i")
    row = admit(tables, "CPU,host=b V=2i,New=3i")
    assert row["table"] == "Cpu" and row["symbols"] == {"Host": "b"} and set(row["columns"]) == {"v", "New"}


def test_a_refused_row_keeps_the_columns_made_before_the_refusal():
    tables = Tables()
    admit(tables, "t b=1i")
    with pytest.raises(IlpLineError):
        admit(tables, 't z=1.5,b="x",y=1i')  # z is made, b refuses the row, y is never read
    assert tables.columns["t"] == {"timestamp": "TIMESTAMP", "b": "LONG", "z": "DOUBLE"}
    with pytest.raises(IlpLineError):
        admit(tables, "u a=1i -1")  # refused for its timestamp, after its columns were made
    assert tables.columns["u"] == {"timestamp": "TIMESTAMP", "a": "LONG"}


@pytest.mark.parametrize("written, kept", [("007i", "007"), ("-0i", "-0"), ("1e3", "1e3"), ("1.50", "1.50"),
                                           ("TRUE", "TRUE"), ("T", "T"), ("5t", "5"), ("0x10i", "0x10"),
                                           ('"a\\"b"', 'a"b')])
def test_a_symbol_column_keeps_the_text_as_written(written, kept):
    tables = Tables()
    admit(tables, "t,v=a n=1i")
    line = f"t v={written}".encode()
    assert tables.admit(parse_line(line), line)["columns"]["v"]["value"] == kept
