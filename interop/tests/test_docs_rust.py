"""The docs check's Rust snippets (interop/docs/clients/rust.py): the program rustdoc would compile, the
crates a snippet names, the older majors, the fence attributes; then two real builds into the shared
target folder (build/docs/cargo-target): a questdb-rs snippet that authenticates to the stub, and one that
does not build. The snippets are small ones written for these tests."""

from __future__ import annotations

import json
import textwrap

from server_stub.records import by_connection

from interop.docs.clients.rust import (
    first_error,
    index_path,
    major,
    older_majors,
    prepare_rust,
    rust_crates,
    rust_fence_skip_reason,
    rust_source,
    unhidden_lines,
)
from interop.docs.repeat import repeat
from interop.paths import AUTH_DB, DEFAULT_JWK
from server_stub import run_stub


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --- rustdoc's pre-processing -------------------------------------------------------------------------------

def test_hidden_lines_are_part_of_the_program_and_double_hash_is_a_literal_hash():
    block = _code("""
        # let hidden = 1;
            # let indented_hidden = 2;
        #
        ##[derive(Debug)]
        #[derive(Clone)]
        let shown = "# not a hidden line";
    """)
    assert unhidden_lines(block) == ["let hidden = 1;", "let indented_hidden = 2;", "", "#[derive(Debug)]",
                                     "#[derive(Clone)]", 'let shown = "# not a hidden line";']


def test_code_without_main_gets_an_implicit_main():
    assert rust_source("let x = 2 + 2;\nassert_eq!(x, 4);\n") == (
        "#![allow(unused)]\nfn main() {\nlet x = 2 + 2;\nassert_eq!(x, 4);\n}\n")


def test_a_final_ok_unit_expression_lets_the_block_use_the_question_mark():
    block = _code("""
        let n: i32 = "42".parse()?;
        # Ok::<(), std::num::ParseIntError>(())
    """)
    assert rust_source(block) == (
        "#![allow(unused)]\n"
        "fn main() { fn _inner() -> Result<(), impl core::fmt::Debug> {\n"
        'let n: i32 = "42".parse()?;\nOk::<(), std::num::ParseIntError>(())\n'
        "} _inner().unwrap() }\n")


def test_a_hidden_main_is_used_as_it_is():
    block = _code("""
        # fn main() -> Result<(), Box<dyn std::error::Error>> {
        let n: i32 = "42".parse()?;
        # Ok(())
        # }
    """)
    source = rust_source(block)
    assert source.count("fn main") == 1 and "_inner" not in source
    assert source.startswith("#![allow(unused)]\nfn main() -> Result<(), Box<dyn std::error::Error>> {\n")


def test_a_main_named_in_a_comment_or_a_string_is_not_a_main():
    source = rust_source('// fn main() is implied\nlet s = "fn main() {}";\n')
    assert source == '#![allow(unused)]\nfn main() {\n// fn main() is implied\nlet s = "fn main() {}";\n}\n'


def test_crate_attributes_and_extern_crates_go_first():
    block = _code("""
        // a comment first
        #![allow(dead_code)]
        # #![deny(unsafe_code)]
        #[macro_use] extern crate something;
        let x = 1;
    """)
    assert rust_source(block) == (
        "#![allow(unused)]\n#![allow(dead_code)]\n#![deny(unsafe_code)]\n#[macro_use] extern crate something;\n"
        "fn main() {\n// a comment first\nlet x = 1;\n}\n")


# --- crates -------------------------------------------------------------------------------------------------

def test_crates_come_from_use_paths_and_bare_paths_mapped_by_the_data_file():
    block = _code("""
        use questdb::{Result, ingress::{Buffer, Sender}};
        use std::time::Duration;
        mod helpers { pub fn f() {} }
        # fn main() -> Result<()> {
        let conf = "tcp::addr=localhost:9009;"; // chrono::Utc would be a crate, but it is in a comment
        let t = ingress::TimestampNanos::now();
        let n = u64::MAX; helpers::f(); let m = "7".parse::<u8>()?; let v = size_of::<u64>();
        let v = serde_json::json!({"a": 1});
        # Ok(())
        # }
    """)
    assert rust_crates(block) == ["questdb-rs", "serde_json"]


def test_extern_crate_and_leading_colons_name_crates():
    assert rust_crates("extern crate rand;\nlet x = ::base64::engine::general_purpose::STANDARD;\n") == ["rand", "base64"]


# --- versions and majors ------------------------------------------------------------------------------------

def test_major_is_cargos_compatibility_key():
    assert [major(v) for v in ("7.2.1", "0.3.4", "0.0.1", "1.0.0-rc1")] == ["7", "0.3", "0.0.1", "1"]


def test_index_path_follows_the_crates_io_layout():
    assert [index_path(n) for n in ("a", "ab", "abc", "Questdb-rs")] == ["1/a", "2/ab", "3/a/abc", "qu/es/questdb-rs"]


def test_older_majors_take_the_newest_release_of_each_major_below_newest_skipping_yanked_and_pre_releases():
    versions = [("0.1.0", False), ("0.2.0", False), ("0.2.5", False), ("1.0.0", False), ("1.4.0", False),
                ("1.10.0", False), ("2.0.0-rc1", False), ("2.0.0", False), ("2.1.0", True), ("3.0.0", False)]
    index = "\n".join(json.dumps({"name": "x", "vers": v, "yanked": y}) for v, y in versions) + "\n"
    assert older_majors(index, "3.0.0") == ["2.0.0", "1.10.0", "0.2.5", "0.1.0"]
    assert older_majors(index, "0.2.5") == ["0.1.0"]


def test_only_compile_fail_skips_a_snippet():
    assert "compile_fail" in rust_fence_skip_reason({"compile_fail": ""})
    assert "compile_fail" in rust_fence_skip_reason({"rust,compile_fail": ""})
    for attrs in ({}, {"no_run": ""}, {"ignore": ""}, {"should_panic": ""}, {"title": "main.rs"}):
        assert rust_fence_skip_reason(attrs) is None


def test_first_error_skips_warnings_and_cargos_summary():
    stderr = _code("""
        warning: unused variable: `x`
        error[E0425]: cannot find value `y` in this scope
         --> src/main.rs:3:5
          |
        3 |     y
          |     ^ not found in this scope

        error: could not compile `snippet` (bin "snippet") due to 1 previous error
    """)
    block = first_error(stderr)
    assert block[0] == "error[E0425]: cannot find value `y` in this scope" and len(block) == 5
    assert first_error("error: could not compile `snippet`\n") == []


# --- real builds (shared target folder: the first build of questdb-rs is the slow one) -----------------------

def test_a_questdb_rs_snippet_builds_and_authenticates_to_the_stub(tmp_path):
    key = json.loads(DEFAULT_JWK.read_text())
    with run_stub(AUTH_DB) as stub:
        block = _code(f"""
            # use questdb::ingress::{{Sender, TimestampNanos}};
            let mut sender = Sender::from_conf(
                "tcp::addr=127.0.0.1:{stub.port};username={key['kid']};token={key['d']};\\
                 token_x={key['x']};token_y={key['y']};")?;
            let mut buffer = sender.new_buffer();
            buffer.table("trades")?.symbol("symbol", "ETH-USD")?.column_f64("price", 2615.54)?
                .at(TimestampNanos::now())?;
            sender.flush(&mut buffer)?;
            # Ok::<(), questdb::Error>(())
        """)
        prepared = prepare_rust(block, tmp_path / "snippet", pins={"questdb-rs": "7.2.1"})
        assert prepared.command, prepared.evidence
        assert prepared.versions == {"questdb-rs": "7.2.1"}
        verdict = repeat("newest", prepared, stub, 0, [])
        conns = list(by_connection(stub.events()).values())
    assert verdict.verdict == "PASS", (verdict.detail, verdict.evidence)
    assert [(c.auth["accepted"], c.auth["kid"], c.auth["encoding"]) for c in conns] == [(True, "testUser1", "p1363")]
    assert conns[0].rows and not conns[0].ilp_errors


def test_a_snippet_that_does_not_compile_fails_to_build_with_the_first_error(tmp_path):
    block = "use questdb::ingress::NoSuchThing;\nlet x: i32 = 1;\n"
    prepared = prepare_rust(block, tmp_path / "snippet", pins={"questdb-rs": "7.2.1"})
    assert (prepared.command, prepared.verdict) == (None, "FAILS TO BUILD")
    assert prepared.detail.startswith("cargo build: error[E0432]: unresolved import `questdb::ingress::NoSuchThing`")
    assert "src/main.rs" in prepared.evidence and "cargo build" in prepared.evidence


def test_a_version_that_cannot_be_resolved_fails_to_install(tmp_path):
    prepared = prepare_rust("use questdb::ingress::Sender;\n", tmp_path / "snippet", pins={"questdb-rs": "99.0.0"})
    assert (prepared.command, prepared.verdict) == (None, "FAILS TO INSTALL")
    assert prepared.detail.startswith("cargo add questdb-rs@=99.0.0: error: ") and "could not be found" in prepared.detail
