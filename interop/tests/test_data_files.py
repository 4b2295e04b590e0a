"""Every data file of the harness goes through the one validating loader (interop/datafile.py): a
misspelt key fails naming the file, the entry and the key, and a default is filled in from the schema."""

from __future__ import annotations

import re

import pytest

from interop import paths
from interop.bench.main import load_targets
from interop.cases import load_cases
from interop.datafile import DataFileError, Key, Table, check
from interop.docs.data import (
    conf_keys,
    config_rules,
    dependencies,
    load_classification,
    load_expectations,
    load_fixes,
    load_own_keys,
    load_substitutions,
)
from interop.fixture import load_rows, load_schema
from interop.questdb.launcher import pinned
from interop.registry import load_registry
from interop.robustness import load_faults

# (file, its loader, the text misspelt, the misspelling, the entry the error must name)
MISSPELT = [
    (paths.REGISTRY, load_registry, 'encoding = "p1363"', 'encodng = "p1363"', "client 1 (python-raw-p1363)"),
    (paths.REGISTRY, load_registry, 'inputs = ["python/requirements.txt"]', 'input = ["python/requirements.txt"]',
     "environment python"),
    (paths.NEGATIVE_CASES, load_cases, 'signature = "der"', 'signatur = "der"', "case 2 (der)"),
    (paths.NEGATIVE_CASES, load_cases, 'reason_code = "short_raw_signature"', 'reason = "short_raw_signature"',
     "case 5 (short-raw): expect"),
    (paths.FAULTS, load_faults, "fault_rows = 2", "fault_row = 2", "fault 6 (close-after-rows)"),
    (paths.DOCS_EXPECTATIONS, load_expectations, 'replacement = "PASS"', 'replacment = "PASS"',
     "page 1 (000_641e6b6320ef4640.txt): snippet 1 (InfluxDB line protocol)"),
    (paths.DOCS_EXPECTATIONS, load_expectations, 'digest = "2b662985e514"', 'digset = "2b662985e514"',
     "page 2 (001_00690188b6f5d145.txt): snippet 6 (Server configuration)"),
    (paths.DOCS_EXPECTATIONS, load_expectations, 'name = "002_fdc667869027e8cc.txt"',
     'nme = "002_fdc667869027e8cc.txt"', "page 3"),
    (paths.DOCS_SUBSTITUTIONS, load_substitutions, 'when = "port_moved"', 'whenever = "port_moved"', "substitution 14"),
    (paths.DOCS_CLASSIFICATION, load_classification, 'strength = "strong"', 'strenght = "strong"',
     "transport 1 (ILP/TCP)"),
    (paths.DOCS_FIXES, load_fixes, 'action = "drop_import"', 'actoin = "drop_import"', "fix 1 (go)"),
    (paths.DOCS_OWN_KEYS, load_own_keys, 'languages = ["go"]', 'language = ["go"]',
     "api 1 (the Go client's WithAuth option)"),
    (paths.DOCS_DEPENDENCIES, dependencies, "label = ", "lable = ", "javascript: replacements node-webcrypto-ossl"),
    (paths.DOCS_CONF_KEYS, conf_keys, 'kind = "path"', 'knd = "path"', "keys line.tcp.auth.db.path"),
    (paths.DOCS_CONF_KEYS, conf_keys, 'managers = ["brew", "port"]', 'manager = ["brew", "port"]',
     "platform 1 (macOS)"),
    (paths.QUESTDB_CONFIG, pinned, "java_options = ", "java_option = ", "top level"),
    (paths.BENCH_TARGETS, load_targets, "vs_openssl_verify = ", "vs_openssl = ", "handshakes"),
    (paths.ROWS, load_rows, '"symbols": {"kind"', '"symbol": {"kind"', "line 2 (no-timestamp)"),
    (paths.ROWS, load_rows, '"unit": "us"}}', '"units": "us"}}', "line 1 (all-types): columns seen_at"),
    (paths.ROWS_V2, load_rows, '"element": "double"', '"elements": "double"', "line 2 (array-1d): columns readings"),
    (paths.ROWS_V3, load_rows, '"scale": 4', '"scales": 4', "line 6 (decimal-negative): columns price"),
    (paths.SCHEMA, load_schema, "columns = { price", "column = { price", "table decimal_prices"),
]


@pytest.mark.parametrize("path, load, old, new, entry", MISSPELT, ids=lambda v: getattr(v, "name", None))
def test_a_misspelt_key_names_the_file_the_entry_and_the_key(tmp_path, path, load, old, new, entry):
    text = path.read_text("utf-8")
    assert old in text, old
    broken = tmp_path / path.name
    broken.write_text(text.replace(old, new, 1), "utf-8")
    key = re.search(r"\w+", new).group(0)
    with pytest.raises(DataFileError) as raised:
        load(broken)
    message = str(raised.value)
    assert message.startswith(f"{broken}: {entry}: unknown keys ['{key}']"), message


@pytest.mark.parametrize("load", [load_registry, load_cases, load_faults, load_expectations, load_substitutions,
                                  dependencies, conf_keys, load_classification, load_fixes, load_own_keys,
                                  config_rules, pinned, load_targets, load_rows, load_schema,
                                  lambda: load_rows(paths.ROWS_V2), lambda: load_rows(paths.ROWS_V3)])
def test_every_data_file_loads(load):
    assert load()


def test_negative_case_defaults_live_in_the_schema():
    cases = {case["id"]: case for case in load_cases()}
    der = cases["der"]  # gives only signature and expect
    assert {k: der[k] for k in ("kid", "key", "message", "base64", "key_id_end", "signature_end", "rows",
                                "truncate_key_id")} == {
        "kid": "testUser1", "key": "testUser1", "message": "challenge", "base64": "standard", "key_id_end": "\n",
        "signature_end": "\n", "rows": "after", "truncate_key_id": False}
    assert "pad_to" not in der  # optional without a default: left out
    assert cases["unknown-key-id"]["key"] == "testUser1" and cases["unknown-key-id"]["kid"] == "nobody"
    assert cases["truncated-key-id"]["signature"] == "p1363"


SCHEMA = Table({"name": Key(str), "count": Key(int, 0), "ratio": Key(float, 1.0), "mode": Key(str, "a", choices={"a", "b"}),
                "items": Key(list, each=Table({"id": Key(str)}, label="id"))})


@pytest.mark.parametrize("data, problem", [
    ({"name": 1, "items": []}, "top level: name = 1; expected a string"),
    ({"name": "n", "count": True, "items": []}, "top level: count = True; expected an integer"),
    ({"name": "n", "mode": "c", "items": []}, "top level: mode = 'c'; expected 'a' or 'b'"),
    ({"name": "n", "items": [{"id": "x"}, {"id": "y", "idd": 1}]}, "items 2 (y): unknown keys ['idd']"),
    ({"items": []}, "top level: missing keys ['name']"),
])
def test_types_choices_and_entries_are_checked(data, problem):
    with pytest.raises(DataFileError, match=re.escape(f"f.toml: {problem}")):
        check(data, SCHEMA, "f.toml", [])


def test_defaults_are_filled_and_an_int_is_a_float():
    assert check({"name": "n", "ratio": 2, "items": [{"id": "x"}]}, SCHEMA, "f.toml", []) == {
        "name": "n", "ratio": 2, "items": [{"id": "x"}], "count": 0, "mode": "a"}


@pytest.mark.parametrize("old, new, problem", [
    ('"value": 42}', '"value": 42.0}', "line 1 (all-types): columns count: value = 42.0 does not fit type 'integer'"),
    ('"timestamp": null', '"timestamp": {"value": 1}', "line 2 (no-timestamp): timestamp: missing keys ['unit']"),
])
def test_a_fixture_row_has_the_shape_of_a_row_event(tmp_path, old, new, problem):
    broken = tmp_path / "rows.jsonl"
    broken.write_text(paths.ROWS.read_text("utf-8").replace(old, new, 1), "utf-8")
    with pytest.raises(DataFileError, match=re.escape(f"{broken}: {problem}")):
        load_rows(broken)
