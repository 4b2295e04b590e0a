"""What the real QuestDB server does where it differs from a clean implementation, pinned against
the server itself, and the parity module's value comparison."""

from __future__ import annotations

import shutil

import pytest
from server_stub.client import Handshake, Key, authenticate
from server_stub.ilp import encode_row
from server_stub.keys import load_jwk

from interop.cases import load_cases
from interop.fixture import load_rows
from interop.paths import AUTH_DB, INTEROP, KEYS
from interop.questdb import parity
from interop.questdb.launcher import QuestDBProcess
from interop.refsigner import run_case

NEEDS_QUESTDB = pytest.mark.skipif(shutil.which("java") is None or shutil.which("mvn") is None,
                                   reason="the real QuestDB server needs `java` (17+) and `mvn` on PATH")
JWKS = {kid: load_jwk(KEYS / f"{kid}.jwk.json") for kid in ("testUser1", "testUser2")}
CASES = {c["id"]: c for c in load_cases()}


@pytest.fixture(scope="module")
def questdb(tmp_path_factory):
    with QuestDBProcess(AUTH_DB, tmp_path_factory.mktemp("questdb-log")) as server:
        yield server


@NEEDS_QUESTDB
@pytest.mark.parametrize("case", ["url-safe-base64", "crlf-signature"])
def test_questdb_leaves_a_known_key_with_bad_base64_open(questdb, case):
    """server_stub/PROTOCOL.md section 4: the decode error escapes the handler, no close."""
    wire = run_case(questdb.host, questdb.ilp_port, JWKS, CASES[case], ["pinned x=1i"])
    assert wire.challenge_received and not wire.closed_by_server
    assert "invalid base64" in questdb.log_text()


@NEEDS_QUESTDB
def test_questdb_closes_an_unknown_key_id_with_bad_base64(questdb):
    unknown = dict(CASES["url-safe-base64"], kid="nobody", key="testUser1")
    assert run_case(questdb.host, questdb.ilp_port, JWKS, unknown, ["pinned x=1i"]).closed_by_server


@NEEDS_QUESTDB
def test_questdb_accepts_der_integers_without_their_sign_byte(questdb):
    """Java reads a DER INTEGER as an unsigned magnitude: r or s with its top bit set and no 0x00 sign
    byte verifies, and the rows are stored; the stub accepts it too, with a warning (server_stub/PROTOCOL.md section 1.3)."""
    case = CASES["der-unsigned"]
    for attempt in range(3):  # three fresh challenges, three signatures with a missing sign byte
        wire = run_case(questdb.host, questdb.ilp_port, JWKS, case, [f"der_unsigned attempt={attempt}i"])
        assert wire.challenge_received and not wire.closed_by_server
    assert questdb.wait_for_rows("der_unsigned", 3)["count"] == 3


@NEEDS_QUESTDB
def test_questdb_drops_the_connection_at_a_table_name_it_refuses(questdb):
    """ILP escapes the comma, QuestDB refuses the name and disconnects: the rows after it are lost."""
    case = CASES["padded-raw"]
    lines = ["names_before x=1i", "a\\,b x=1i", "names_after x=1i"]
    run_case(questdb.host, questdb.ilp_port, JWKS, case, lines)
    assert questdb.wait_for_rows("names_before", 1)["count"] == 1
    assert "invalid table name" in questdb.log_text()
    assert questdb.query("select count() from tables() where table_name = 'names_after'")["dataset"][0][0] == 0


class FakeQuestDB:
    """Answers `select * from 'T' limit 1` from {table: [(column, /exec column info or type, value), ...]}."""

    def __init__(self, stored: dict):
        self.stored = stored

    def query(self, sql: str) -> dict:
        stored = self.stored[sql.split("'")[1]]
        columns = [{"name": name, **(info if isinstance(info, dict) else {"type": info})} for name, info, _ in stored]
        return {"columns": columns, "dataset": [[value for _, _, value in stored]]}


def compare(columns: dict, stored: list) -> list[str]:
    """compare_values for one fixture row of table t (no symbols, no designated timestamp)."""
    sent = [{"table": "t", "symbols": {}, "timestamp": None, "columns": columns}]
    return parity.compare_values(FakeQuestDB({"t": stored}), sent)[0]


def test_value_comparison_allows_the_documented_conversions_and_nothing_else():
    sent = [{"table": "t", "symbols": {"s": "a"}, "timestamp": {"value": 1_700_000_000_123_456_789, "unit": "ns"},
             "columns": {"min": {"type": "integer", "value": -(2**63)}, "nan": {"type": "float", "value": "NaN"},
                         "at": {"type": "timestamp", "value": 1_700_000_000_123_456, "unit": "us"},
                         "f": {"type": "float", "value": 1.5}}}]
    stored = [("s", "SYMBOL", "a"), ("min", "LONG", None), ("nan", "DOUBLE", None),
              ("at", "TIMESTAMP", "2023-11-14T22:13:20.123456Z"), ("f", "DOUBLE", 1.5),
              ("timestamp", "TIMESTAMP", "2023-11-14T22:13:20.123456Z")]
    problems, compared = parity.compare_values(FakeQuestDB({"t": stored}), sent)
    assert problems == []
    assert compared == {"symbol": 1, "integer": 1, "float": 2, "timestamp": 1, "designated timestamp": 1}
    altered = list(stored)
    altered[4] = ("f", "DOUBLE", 1.25)
    problems, _ = parity.compare_values(FakeQuestDB({"t": altered}), sent)
    assert problems == ["t.f: 1.25, sent float 1.5"]


def test_binary_doubles_compare_as_floats_and_only_doubles_turn_nan_into_null():
    columns = {"x": {"type": "float", "value": -1.5e-300, "binary": True},
               "nan": {"type": "float", "value": "NaN", "binary": True},
               "inf": {"type": "float", "value": "-Infinity", "binary": True},
               "text": {"type": "string", "value": "NaN"}}
    stored = [("x", "DOUBLE", -1.5e-300), ("nan", "DOUBLE", None), ("inf", "DOUBLE", None), ("text", "VARCHAR", "NaN")]
    assert compare(columns, stored) == []
    # NaN is null only where QuestDB stores null: a string "NaN" stays a string, a number is not null.
    assert compare(columns, [*stored[:3], ("text", "VARCHAR", None)]) == ["t.text: None, sent string 'NaN'"]
    assert compare(columns, [("x", "DOUBLE", 0.0), *stored[1:]]) == ["t.x: 0.0, sent float -1.5e-300"]
    assert compare(columns, [stored[0], ("nan", "DOUBLE", 0.0), *stored[2:]]) == [
        "t.nan: 0.0, sent float 'NaN' (stored as None)"]
    assert compare(columns, [("x", "VARCHAR", -1.5e-300), *stored[1:]]) == [
        "t.x: column type VARCHAR, sent float -1.5e-300"]
    # Compared by type too: a LONG 2 is not the double 2.0, and a missing column is not a null.
    assert compare({"x": {"type": "float", "value": 2.0}}, [("x", "DOUBLE", 2)]) == ["t.x: 2, sent float 2.0"]
    assert compare({"nan": {"type": "float", "value": "NaN"}}, [("other", "DOUBLE", None)]) == [
        "t.nan: no such column, sent float 'NaN'"]


ARRAY_1D = {"type": "ARRAY", "dim": 1, "elemType": "DOUBLE"}
ARRAY_2D = {"type": "ARRAY", "dim": 2, "elemType": "DOUBLE"}


def array(shape, value, binary=True) -> dict:
    return {"type": "array", "element": "double", "shape": shape, "value": value, "binary": binary}


def test_arrays_come_back_as_nested_lists_with_non_finite_elements_null():
    assert compare({"a": array([2, 2], [[1.0, -2.5], [3e100, 5e-300]])},
                   [("a", ARRAY_2D, [[1.0, -2.5], [3e100, 5e-300]])]) == []
    assert compare({"a": array([4], [1.0, "NaN", "Infinity", "-Infinity"])},
                   [("a", ARRAY_1D, [1.0, None, None, None])]) == []
    # empty (any shape: QuestDB returns [] for [2, 0] too) and NULL
    assert compare({"a": array([0], [])}, [("a", ARRAY_1D, [])]) == []
    assert compare({"a": array([2, 0], [])}, [("a", ARRAY_2D, [])]) == []
    assert compare({"a": array(None, None)}, [("a", ARRAY_1D, None)]) == []


def test_arrays_differ_by_element_shape_and_column_type():
    sent = {"a": array([2, 2], [[1.0, 2.0], [3.0, "NaN"]])}
    assert compare(sent, [("a", ARRAY_2D, [[1.0, 2.0], [3.0, 4.0]])]) == [
        "t.a: [[1.0, 2.0], [3.0, 4.0]], sent array [[1.0, 2.0], [3.0, 'NaN']] (stored as [[1.0, 2.0], [3.0, None]])"]
    assert compare(sent, [("a", ARRAY_2D, [[1.0, None], [3.0, None]])]) != []  # a finite element is never null
    assert compare(sent, [("a", ARRAY_2D, [[1.0, 2.0, 3.0, None]])]) != []  # flattened
    assert compare(sent, [("a", ARRAY_2D, [[1, 2.0], [3.0, None]])]) != []  # 1 is not 1.0
    assert compare(sent, [("a", ARRAY_2D, [])]) != []  # empty
    assert compare(sent, [("a", ARRAY_2D, None)]) != []  # NULL
    assert compare(sent, [("a", ARRAY_1D, [[1.0, 2.0], [3.0, None]])]) == [
        "t.a: column {'type': 'ARRAY', 'elemType': 'DOUBLE', 'dim': 1}, sent an array of double with shape [2, 2]"]
    assert compare(sent, [("a", "VARCHAR", [[1.0, 2.0], [3.0, None]])]) != []
    assert compare(sent, [("a", dict(ARRAY_2D, elemType="LONG"), [[1.0, 2.0], [3.0, None]])]) != []


def decimal(scale, unscaled, value, binary=True) -> dict:
    return {"type": "decimal", "scale": scale, "unscaled": unscaled, "value": value, "binary": binary}


def test_decimals_come_back_as_text_at_their_columns_scale():
    assert compare({"d": decimal(4, "-1234500", "-123.4500")}, [("d", "DECIMAL(18,4)", "-123.4500")]) == []
    wide = "-123456789012345678901234567890123456789012345678901234.5678901234"
    assert compare({"d": decimal(10, wide.replace(".", ""), wide)}, [("d", "DECIMAL(76,10)", wide)]) == []
    tiny = "0.0000000000000000000000000000000000012345"
    assert compare({"d": decimal(40, "12345", tiny)}, [("d", "DECIMAL(50,40)", tiny)]) == []
    # rescaled to the column's scale, up (measured: 123.45 into DECIMAL(18,4) is "123.4500") or down without loss
    assert compare({"d": decimal(2, "-12345", "-123.45")}, [("d", "DECIMAL(18,4)", "-123.4500")]) == []
    assert compare({"d": decimal(0, "5", "5", binary=False)}, [("d", "DECIMAL(10,4)", "5.0000")]) == []
    assert compare({"d": decimal(4, "12300", "1.2300")}, [("d", "DECIMAL(10,2)", "1.23")]) == []
    assert compare({"d": decimal(2, None, None)}, [("d", "DECIMAL(10,4)", None)]) == []


def test_decimals_differ_by_digits_scale_json_type_and_column_type():
    sent = {"d": decimal(4, "-1234500", "-123.4500")}
    assert compare(sent, [("d", "DECIMAL(18,4)", "-123.4501")]) == ["t.d: '-123.4501', sent decimal '-123.4500'"]
    assert compare(sent, [("d", "DECIMAL(18,4)", "123.4500")]) != []  # the sign
    assert compare(sent, [("d", "DECIMAL(18,4)", "-123.45")]) != []  # not at the column's scale
    assert compare(sent, [("d", "DECIMAL(18,4)", -123.45)]) != []  # a number, not the exact text
    assert compare(sent, [("d", "DECIMAL(18,4)", None)]) != []  # NULL
    assert compare(sent, [("d", "DOUBLE", -123.45)]) == ["t.d: column type DOUBLE, sent decimal '-123.4500'"]
    assert compare(sent, [("d", "VARCHAR", "-123.4500")]) != []
    assert compare({"d": decimal(2, "-12345", "-123.45")}, [("d", "DECIMAL(18,4)", "-123.45")]) == [
        "t.d: '-123.45', sent decimal '-123.45' (stored as '-123.4500')"]
    # digits the column cannot hold: QuestDB refuses the row, so no stored value matches
    assert compare({"d": decimal(4, "12345", "1.2345")}, [("d", "DECIMAL(10,2)", "1.23")]) != []


def test_the_values_column_counts_what_was_read_back():
    from interop.questdb.main import _values

    side = parity.Side(1, rows=1)
    ok = parity.Parity("example", "x", side, side, values={"array": 4, "float": 2})
    assert _values(ok) == "6 equal: 4 array, 2 float"
    bad = parity.Parity("example", "x", side, side, problems=["t.a: ..."], values={"decimal": 3})
    assert _values(bad) == "1 of 3 differ: 3 decimal" and not bad.agree
    assert _values(parity.Parity("example", "x", side, parity.Side(0))) == "not read (no row stored)"
    assert _values(parity.Parity("case", "x", side, side)) == "-"


@NEEDS_QUESTDB
def test_questdb_stores_the_binary_fixture_as_the_comparison_expects(questdb):
    """rows_v3.jsonl (binary doubles, arrays, decimals) in binary ILP, into the tables of schema.toml:
    every value read back is the fixture's under ALLOWED_CONVERSIONS, and QuestDB reports the types
    the comparison checks (ARRAY with dim and elemType, DECIMAL(p,s), DOUBLE)."""
    declared = parity.create_declared_tables(questdb)
    assert {"decimal_prices", "decimal_rates", "decimal_wide"} <= set(declared)
    rows = load_rows(INTEROP / "rows_v3.jsonl")
    data = b"".join(encode_row(row) + b"\n" for row in rows)
    outcome = authenticate(questdb.host, questdb.ilp_port, Key.from_jwk(JWKS["testUser1"]), Handshake(rows=data),
                           drain=True)
    assert outcome.problem is None
    tables = sorted({row["table"] for row in rows})
    assert questdb.wait_for_counts(tables, at_least=1) == dict.fromkeys(tables, 1)
    problems, compared = parity.compare_values(questdb, rows)
    assert problems == []
    assert compared["array"] == 4 and compared["decimal"] == 3
    # and a stored value that differs is seen: the same fixture against other tables' rows
    swapped = [dict(row, table="array_1d" if row["table"] == "array_2d" else row["table"]) for row in rows]
    assert any("matrix: no such column" in p for p in parity.compare_values(questdb, swapped)[0])


@NEEDS_QUESTDB
def test_a_connection_questdb_leaves_open_holds_a_place_under_its_connection_limit(tmp_path):
    """server_stub/PROTOCOL.md section 4: the client closes each connection QuestDB left open, yet the
    server keeps counting it (until its idle timeout), so a limit of 4 leaves no room for a fifth
    client; the connections it closes itself hold no place."""
    with QuestDBProcess(AUTH_DB, tmp_path, extra_conf={"line.tcp.net.connection.limit": "4"}) as server:
        for _ in range(4):  # unknown key ids with bad base64: closed by the server, no place held
            unknown = dict(CASES["url-safe-base64"], kid="nobody", key="testUser1")
            assert run_case(server.host, server.ilp_port, JWKS, unknown, ["pinned x=1i"]).closed_by_server
        assert run_case(server.host, server.ilp_port, JWKS, CASES["padded-raw"], ["room x=1i"]).challenge_received
        for _ in range(4):
            run_case(server.host, server.ilp_port, JWKS, CASES["url-safe-base64"], ["pinned x=1i"])  # left open
        try:  # the listener is unregistered at the limit: a connect waits in the backlog, or is refused
            room = run_case(server.host, server.ilp_port, JWKS, CASES["padded-raw"], ["no_room x=1i"]).challenge_received
        except ConnectionRefusedError:
            room = False
        assert not room
        assert "max connection limit reached" in server.log_text()
