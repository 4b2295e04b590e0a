"""The fixtures of protocol versions 2 and 3 (binary doubles, arrays, decimals), their schema file, and the
comparison of typed values: the loader refuses what the contract does not allow, and the comparison is
strict (types exactly, arrays element by element, decimals by value, scale and unscaled, the binary flag)."""

from __future__ import annotations

import json
import re

import pytest

from interop import paths
from interop.datafile import DataFileError
from interop.fixture import decimal_text, diff_rows, expected_rows, has_text_only, load_rows, load_schema
from interop.registry import RegistryError, load_registry

V2, V3 = load_rows(paths.ROWS_V2), load_rows(paths.ROWS_V3)


def _columns(rows: list[dict], kind: str) -> list[dict]:
    return [c for r in rows for c in r["columns"].values() if c["type"] == kind]


def test_the_v2_fixture_has_binary_doubles_and_every_kind_of_array():
    floats = _columns(V2, "float")
    assert floats and all(c.get("binary") for c in floats)  # every float of a version 2 client goes binary
    assert {"NaN", "Infinity", "-Infinity"} <= {c["value"] for c in floats}
    shapes = [c["shape"] for c in _columns(V2, "array")]
    assert [3] in shapes and any(len(s) == 2 for s in shapes) and [0] in shapes
    assert any("NaN" in c["value"] for c in _columns(V2, "array"))
    assert all(c["element"] == "double" and c.get("binary") for c in _columns(V2, "array"))


def test_the_v3_fixture_adds_decimals_negative_large_scale_and_many_bytes():
    assert [r["id"] for r in V3[:len(V2)]] == [r["id"] for r in V2]  # the same kinds first
    decimals = _columns(V3, "decimal")
    assert any(c["unscaled"].startswith("-") for c in decimals)
    assert max(c["scale"] for c in decimals) >= 30
    assert max((int(c["unscaled"]).bit_length() + 8) // 8 for c in decimals) > 16  # two's complement bytes
    assert not _columns(V2, "decimal")


def test_decimal_rows_have_their_text_form_and_array_rows_none():
    for row in V3:
        kinds = {c["type"] for c in row["columns"].values()}
        assert (row["ilp"] is None) == ("array" in kinds), row["id"]
        for column in row["columns"].values():
            if column["type"] == "decimal":
                assert f"={column['value']}d" in row["ilp"], row["id"]
    assert not has_text_only(V2) and not has_text_only(V3) and has_text_only(load_rows(paths.ROWS))


def test_the_schema_declares_every_decimal_column_at_its_scale():
    schema = load_schema()
    for row in V3:
        for name, column in row["columns"].items():
            if column["type"] == "decimal":
                precision, scale = map(int, re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", schema[row["table"]][name]).groups())
                assert scale == column["scale"], (row["id"], name)
                assert len(column["unscaled"].lstrip("-")) <= precision, (row["id"], name)
    new_tables = {r["table"] for r in V3} | set(schema)
    assert not new_tables & {r["table"] for r in load_rows(paths.ROWS)}


@pytest.mark.parametrize("unscaled, scale, text", [
    (-1234500, 4, "-123.4500"), (12345, 8, "0.00012345"), (-5, 2, "-0.05"), (0, 3, "0.000"), (42, 0, "42")])
def test_decimal_text(unscaled, scale, text):
    assert decimal_text(unscaled, scale) == text


def _row(**column) -> dict:
    return {"id": "r", "table": "t", "symbols": {}, "columns": {"c": column}, "timestamp": None,
            "ilp": None if column.get("type") == "array" else "t c=1"}


ARRAY = {"type": "array", "element": "double", "shape": [2, 2], "value": [[1.0, 2.0], [3.0, "NaN"]]}
DECIMAL = {"type": "decimal", "scale": 4, "unscaled": "-1234500", "value": "-123.4500"}


@pytest.mark.parametrize("column", [
    ARRAY, ARRAY | {"binary": True}, ARRAY | {"shape": [0], "value": []}, ARRAY | {"shape": [2, 0], "value": []},
    ARRAY | {"shape": None, "value": None}, DECIMAL, DECIMAL | {"binary": True},
    DECIMAL | {"unscaled": None, "value": None}, {"type": "float", "value": 1.5, "binary": True},
])
def test_the_loader_takes_every_form_of_the_contract(tmp_path, column):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(_row(**column)) + "\n")
    assert load_rows(path)[0]["columns"]["c"] == column


@pytest.mark.parametrize("column, problem", [
    (ARRAY | {"element": "long"}, "element = 'long'; expected 'double'"),
    (ARRAY | {"shape": [2, 3]}, "value[0] = [1.0, 2.0]; expected a list of 3"),
    (ARRAY | {"shape": [4]}, "value = [[1.0, 2.0], [3.0, 'NaN']]; expected a list of 4"),
    (ARRAY | {"value": [[1.0, 2.0], [3.0, 4]]}, "value[1][1] = 4; expected a float"),
    (ARRAY | {"value": [[1.0, 2.0], [3.0, "nan"]]}, "value[1][1] = 'nan'; expected a float"),
    (ARRAY | {"shape": [0], "value": [1.0]}, "an empty array (a 0 in its shape) has value []"),
    (ARRAY | {"shape": []}, "expected a list of one or more sizes"),
    (ARRAY | {"shape": [True]}, "expected a list of one or more sizes"),
    (ARRAY | {"shape": None}, "a NULL array (shape null) has value null"),
    ({k: v for k, v in ARRAY.items() if k != "shape"}, "type 'array' needs ['element', 'shape']"),
    (DECIMAL | {"value": "-123.45"}, "value = '-123.45'; unscaled -1234500 at scale 4 is '-123.4500'"),
    (DECIMAL | {"scale": 77}, "scale = 77; expected an integer from 0 to 76"),
    (DECIMAL | {"unscaled": "1.5"}, "unscaled = '1.5'; expected an integer as a string"),
    (DECIMAL | {"unscaled": -1234500}, "unscaled = -1234500; expected a string or null"),
    (DECIMAL | {"unscaled": "007"}, "unscaled = '007'; expected an integer as a string"),
    (DECIMAL | {"unscaled": None}, "a NULL decimal (unscaled null) has value null"),
    (DECIMAL | {"unit": "us"}, "['unit'] go with type 'timestamp', and only with it"),
    ({"type": "float", "value": 1.5, "binary": False}, "binary is true or left out"),
    ({"type": "float", "value": 1.5, "scale": 2}, "['scale'] go with type 'decimal', and only with it"),
])
def test_the_loader_refuses_what_the_contract_does_not_allow(tmp_path, column, problem):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(_row(**column)) + "\n")
    with pytest.raises(DataFileError, match=re.escape(problem)):
        load_rows(path)


@pytest.mark.parametrize("ilp, array", [(None, False), ("t c=1", True)])
def test_ilp_is_null_exactly_when_the_row_has_an_array(tmp_path, ilp, array):
    row = _row(**(ARRAY if array else DECIMAL)) | {"ilp": ilp}
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataFileError, match="ilp is null exactly when the row has an array"):
        load_rows(path)


def _event(want: dict, **changes) -> dict:
    """A stub's row event equal to the fixture row `want`, with some of its column's keys changed."""
    column = {k: v for k, v in (want["columns"]["c"] | changes).items() if v is not None or k == "value"}
    return {k: want[k] for k in ("table", "symbols", "timestamp")} | {"columns": {"c": column}}


def _diff(column: dict, **changes) -> list[str]:
    want = expected_rows([_row(**column)])
    return diff_rows(want, [_event(want[0], **changes)])


def test_an_equal_event_has_no_problem_and_binary_may_come_when_not_asked():
    assert _diff(ARRAY) == [] and _diff(DECIMAL) == []
    assert _diff(DECIMAL, binary=True) == []  # the fixture is silent: either form matches
    assert _diff(ARRAY | {"binary": True}, binary=True) == []


@pytest.mark.parametrize("column, changes, problem", [
    ({"type": "float", "value": 1.5, "binary": True}, {"binary": None}, "'c' arrived as text, expected in binary"),
    (DECIMAL | {"binary": True}, {"binary": None}, "'c' arrived as text, expected in binary"),
    (ARRAY, {"value": [[1.0, 2.0], [3.0, None]]}, "'c' = [[1.0, 2.0], [3.0, None]], expected"),
    (ARRAY, {"value": [[1, 2.0], [3.0, "NaN"]]}, "'c' = [[1, 2.0], [3.0, 'NaN']], expected"),  # 1 is not 1.0
    (ARRAY, {"value": [[1.0, 2.0], [3.0, "Infinity"]]}, "'c' = [[1.0, 2.0], [3.0, 'Infinity']]"),
    (ARRAY, {"shape": [4], "value": [1.0, 2.0, 3.0, "NaN"]}, "'c' shape [4], expected [2, 2]"),
    (ARRAY, {"element": "long"}, "'c' element 'long', expected 'double'"),
    (DECIMAL, {"scale": 2, "unscaled": "-12345", "value": "-123.45"}, "'c' scale 2, expected 4"),
    (DECIMAL, {"unscaled": "-1234501", "value": "-123.4501"}, "'c' unscaled '-1234501', expected '-1234500'"),
    (DECIMAL, {"value": "-123.45"}, "'c' = '-123.45', expected '-123.4500'"),
    (DECIMAL, {"type": "float", "value": -123.45}, "'c' has type float (-123.45), expected decimal"),
])
def test_the_comparison_is_strict(column, changes, problem):
    problems = _diff(column, **changes)
    assert any(problem in p for p in problems), problems


def test_the_registry_runs_each_official_client_at_versions_2_and_3_as_variants():
    clients = load_registry().clients
    variants = [c for c in clients if c.protocol_version != 1]
    official = ("python-questdb", "node-questdb", "go-questdb", "rust-questdb", "java-questdb")
    assert {(c.id, c.protocol_version, c.rows_file) for c in variants} == {
        (f"{name}-v{v}", v, f"rows_v{v}.jsonl") for name in official for v in (2, 3)}
    runs = {tuple(c.run) for c in clients if c.protocol_version == 1}
    assert all(tuple(c.run) in runs for c in variants)  # the same program, never a copy


@pytest.mark.parametrize("extra, message", [
    ('rows = "ilp"\nprotocol_version = 2\nrows_file = "rows.jsonl"', "rows = 'ilp' sends the fixture's text"),
    ('rows = "ilp"\nrows_file = "rows_v3.jsonl"\nprotocol_version = 3', "rows = 'ilp' sends the fixture's text"),
    ('rows = "api"\nrows_file = "rows_v2.jsonl"', "protocol_version 1 cannot send rows without a text form"),
])
def test_the_registry_refuses_a_variant_that_cannot_deliver_its_fixture(tmp_path, extra, message):
    text = ('[environment.e]\nbuild = []\n[[client]]\nid = "x"\nlanguage = "py"\nenvironment = "e"\n'
            f'run = ["true"]\nencoding = "der"\nsigns = "library"\n{extra}\n')
    path = tmp_path / "clients.toml"
    path.write_text(text)
    with pytest.raises(RegistryError, match=re.escape(message)):
        load_registry(path)


def test_a_schema_with_a_wrong_type_names_the_table(tmp_path):
    path = tmp_path / "schema.toml"
    path.write_text('[table.t]\ncolumns = { price = "decimal 18 4" }\n')
    with pytest.raises(DataFileError, match=re.escape("table t: not QuestDB column types: price = 'decimal 18 4'")):
        load_schema(path)
