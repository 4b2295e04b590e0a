"""The registry and the rows fixture are data: check them as data, and check the checks."""

from __future__ import annotations

import pytest
from server_stub.ilp import parse_line
from server_stub.names import check_row

from interop.fixture import ROWS, comparable, diff_rows, expected_rows, load_rows
from interop.paths import ROWS_V2, ROWS_V3
from interop.registry import REGISTRY, RegistryError, load_registry


def test_registry_loads_and_every_example_file_exists():
    registry = load_registry()
    assert registry.clients
    for client in registry.clients:
        assert client.environment in registry.environments
        script = next((w for w in client.run if w.startswith(("python/", "node/"))), None)
        if script:
            assert (REGISTRY.parent.parent / script).is_file(), f"{client.id}: {script} missing"


def test_registry_anti_examples_name_their_defect():
    for client in load_registry().clients:
        if client.expect == "defective":
            assert client.defect and "wrong" in client.id, client.id


@pytest.mark.parametrize(
    "extra, message",
    [('encoding = "raw"', "encoding"), ('colour = "red"', "unknown keys"), ('expect = "defective"', "defect"),
     ("protocol_version = 4", "protocol_version = 4; expected 1, 2 or 3"),
     ("protocol_version = true", "protocol_version"),
     ('rows_file = "../README.md"', "rows_file = '../README.md'"), ('rows_file = "absent.jsonl"', "rows_file"),
     ("tls = \"yes\"", "tls")],
)
def test_registry_errors_are_clear(tmp_path, extra, message):
    base = {"id": '"x"', "language": '"py"', "environment": '"e"', "run": '["true"]', "encoding": '"der"',
            "signs": '"raw"', "rows": '"ilp"'}
    key = extra.split(" = ")[0]
    base[key] = extra.split(" = ")[1]
    text = '[environment.e]\nbuild = []\n[[client]]\n' + "".join(f"{k} = {v}\n" for k, v in base.items())
    path = tmp_path / "clients.toml"
    path.write_text(text)
    with pytest.raises(RegistryError, match=message):
        load_registry(path)


def test_select_by_language_and_unknown_filter():
    registry = load_registry()
    assert {c.language for c in registry.select(["python"])} == {"python"}
    with pytest.raises(RegistryError, match="no example matches"):
        registry.select(["cobol"])


@pytest.mark.parametrize("path", [ROWS, ROWS_V2, ROWS_V3], ids=lambda p: p.name)
def test_fixture_ilp_text_parses_to_the_structured_fields(path):
    for row in load_rows(path):
        if row["ilp"] is None:  # an array: no text form
            continue
        # The text form of a value that must arrive in binary: the same value, but as text.
        columns = {name: {k: v for k, v in column.items() if k != "binary"} for name, column in row["columns"].items()}
        fields = {k: row[k] for k in ("table", "symbols", "timestamp")} | {"columns": columns}
        assert parse_line(row["ilp"].encode()) == fields, row["id"]


def test_fixture_covers_what_the_issue_lists():
    rows = load_rows(ROWS)
    columns = [c for r in rows for c in r["columns"].values()]
    ints = {c["value"] for c in columns if c["type"] == "integer"}
    assert {-(2**63), 2**63 - 1} <= ints
    floats = [c["value"] for c in columns if c["type"] == "float"]
    assert any(isinstance(f, float) and f < 0 for f in floats) and {"NaN", "Infinity", "-Infinity"} <= set(floats)
    strings = "".join(c["value"] for c in columns if c["type"] == "string")
    assert all(ch in strings for ch in '"\\\n')
    assert {c["type"] for c in columns} == {"integer", "float", "string", "boolean", "timestamp"}
    assert any(r["timestamp"] is None for r in rows) and any(r["timestamp"] for r in rows)
    names = "".join(r["table"] + "".join(r["symbols"]) + "".join(r["columns"]) for r in rows)
    assert all(ch in names for ch in " =") and not names.isascii()
    symbol_values = "".join(v for r in rows for v in r["symbols"].values())
    assert all(ch in symbol_values for ch in " ,=")  # escaped in a tag value


@pytest.mark.parametrize("path", [ROWS, ROWS_V2, ROWS_V3], ids=lambda p: p.name)
def test_fixture_names_are_ones_questdb_accepts(path):
    for row in load_rows(path):
        check_row({k: row[k] for k in ("table", "symbols", "columns", "timestamp")})


def test_diff_rows_reports_type_value_and_missing_rows():
    rows = expected_rows(load_rows(ROWS))
    assert diff_rows(rows, rows) == []
    changed = [dict(r, columns=dict(r["columns"])) for r in rows]
    changed[0]["columns"]["count"] = {"type": "float", "value": 42.0}
    changed[1]["columns"]["ok"] = {"type": "integer", "value": 1}
    problems = diff_rows(rows, changed[:-1])
    assert problems[0] == f"{len(rows) - 1} rows arrived, {len(rows)} were sent"
    assert any("'count' has type float" in p for p in problems)
    assert any("'ok' has type integer" in p for p in problems)


def test_timestamps_compare_as_instants():
    row = {"table": "t", "symbols": {}, "columns": {"c": {"type": "timestamp", "value": 5, "unit": "ms"}},
           "timestamp": {"value": 7, "unit": "us"}}
    same = {"table": "t", "symbols": {}, "columns": {"c": {"type": "timestamp", "value": 5000, "unit": "us"}},
            "timestamp": {"value": 7000, "unit": "ns"}}
    assert comparable(row) == comparable(same)


def test_omissions_remove_rows_and_columns():
    rows = load_rows(ROWS)
    kept = expected_rows(rows, omit_rows=["utf8"], omit_columns=["i64_max"])
    assert len(kept) == len(rows) - 1
    assert all("i64_max" not in r["columns"] for r in kept)


def test_a_variant_is_registry_data_with_the_contract_defaults():
    clients = load_registry().clients
    for client in clients:
        if client.protocol_version == 1:  # the variants of versions 2 and 3: test_fixture_types.py
            assert client.rows_file == "rows.jsonl" and client.rows_path == ROWS, client.id


def test_every_official_client_has_a_tls_variant_of_the_same_program():
    clients = load_registry().clients
    tls = {c.id.removesuffix("-tls"): c for c in clients if c.tls}
    plain = {c.id: c for c in clients if not c.tls}
    assert set(tls) == {c.id for c in clients if c.signs == "library" and c.protocol_version == 1 and not c.tls
                        and c.id != "python-questdb-legacy"}
    for base, variant in tls.items():
        assert (variant.run, variant.encoding, variant.rows_file) == (plain[base].run, plain[base].encoding,
                                                                      plain[base].rows_file), variant.id
