"""The benchmark's own checks: parsing, the payloads, the parser before the rewrite, the targets file, the
figures builder and its ratios, the timed commands, the table, and a short run against the stub only."""

from __future__ import annotations

import json
import struct
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from server_stub.ilp import IlpStream

from interop.bench import ceiling, figures, rewrite, shapes, times
from interop.bench.main import main
from interop.bench.parts import run_part
from interop.bench.profiling import _is_idle
from interop.bench.rows import STEP_NS, build_payload, fixture_row
from interop.bench.targets import load_targets
from interop.datafile import DataFileError
from interop.paths import BENCH_TARGETS

OPENSSL_3_OUTPUT = """\
version: 3.0.19
options: bn(64,64)
                              sign    verify    sign/s verify/s
 256 bits ecdsa (nistp256)   0.0000s   0.0001s  23612.5   7712.7
"""


def test_openssl_speed_output_is_parsed():
    assert ceiling.parse_speed(OPENSSL_3_OUTPUT) == {"sign_per_second": 23612.5, "verify_per_second": 7712.7}
    with pytest.raises(ceiling.CeilingError):
        ceiling.parse_speed("nothing here")


def test_payload_rows_are_the_fixture_row_with_unique_timestamps():
    payload = build_payload(10_000, rows_per_chunk=4096)
    assert len(payload.chunks) == 3 and payload.total_bytes == 10_000 * payload.line_bytes
    rows, error = IlpStream().feed(b"".join(payload.chunks))
    assert error is None and len(rows) == 10_000
    fixture = fixture_row()
    stamps = [row["timestamp"]["value"] for row in rows]
    assert stamps == list(range(payload.base_ns, payload.base_ns + 10_000 * STEP_NS, STEP_NS))
    assert all(row["table"] == "bench_rows" and row["columns"] == fixture["columns"]
               and row["symbols"] == fixture["symbols"] for row in rows)


def test_idle_frames():
    assert _is_idle(("epoll.poll", "<built-in>", 0))
    assert _is_idle(("select", "selectors.py", 468))
    assert not _is_idle(("ECPublicKey.verify", "<built-in>", 0))


TARGETS = {"handshakes": {"vs_questdb": 1.0, "vs_openssl_verify": 0.5},
           "rows": {"vs_questdb": 1.0, "per_second": 1_000_000}, "ilp": {"rewrite_after_vs_before": 1.0},
           "times": {"interop_warm_seconds": 20, "interop_cold_seconds": 120, "docs_warm_seconds": 120}}
TIME_RATIOS = ["interop run, warm: s / 20 s", "interop run, cold: s / 120 s", "docs check, warm: s / 120 s"]


def test_ratios_state_targets_without_asserting_them():
    targets = TARGETS
    result = {"handshakes": {"stub": {"per_second": 2000.0, "server_cpu_cores": 0.5},
                             "questdb": {"per_second": 500.0, "server_cpu_cores": None}},
              "rows": {"stub": {"per_second": 10_000.0}, "questdb": {"error": "no java"}},
              "openssl": {"verify_per_second": 8000.0},
              "feed": {"shapes": {"text floats": {"per_second": 20_000.0}, "binary doubles": {"per_second": 25_000.0},
                                  "100-double array": {"per_second": 10_000.0}}},
              "rewrite": {"parsers": {"before": {"per_second": 40_000.0}, "after": {"per_second": 30_000.0}}}}
    by_name = {r["name"]: r for r in figures.ratios(result, targets)}
    assert by_name["stub / QuestDB handshakes/s"] == {"name": "stub / QuestDB handshakes/s", "value": 4.0,
                                                     "target": 1.0, "bound": "at least", "met": True}
    assert by_name["stub handshakes/s / OpenSSL verify/s (1 core)"]["met"] is False
    assert by_name["stub handshakes per server core-second / OpenSSL verify/s"]["value"] == 0.5
    assert by_name["QuestDB handshakes per server core-second / OpenSSL verify/s"]["value"] is None
    assert by_name["stub / QuestDB ILP rows/s"]["value"] is None
    assert by_name["stub ILP rows/s / 1,000,000 rows/s"]["value"] == 0.01
    assert by_name["feed rows/s: binary doubles / text floats"] == {
        "name": "feed rows/s: binary doubles / text floats", "value": 1.25, "target": None, "bound": "at least",
        "met": None}
    assert by_name["feed rows/s: 100-double array / text floats"]["value"] == 0.5
    assert by_name["feed text rows/s: after / before the grammar rewrite"] == {
        "name": "feed text rows/s: after / before the grammar rewrite", "value": 0.75, "target": 1.0,
        "bound": "at least", "met": False}
    without = {r["name"]: r for r in figures.ratios({**result, "feed": None, "rewrite": None}, targets)}
    assert without["feed text rows/s: after / before the grammar rewrite"]["value"] is None
    assert [by_name[name]["value"] for name in TIME_RATIOS] == [None, None, None]  # no time measured


def test_times_are_measured_against_their_targets_and_met_at_most_1():
    result = {"handshakes": {}, "rows": {}, "interop": {"seconds": 25.0, "exit_code": 1},
              "interop_cold": {"seconds": 60.0, "exit_code": 0},
              "docs_warm": {"seconds": 900.2, "exit_code": None, "error": "did not finish within 900 s"}}
    by_name = {r["name"]: r for r in figures.ratios(result, TARGETS)}
    warm, cold, docs = (by_name[name] for name in TIME_RATIOS)
    assert warm == {"name": "interop run, warm: s / 20 s", "value": 1.25, "target": 1.0, "bound": "at most",
                    "met": False}  # a failing run's verdict still took its seconds
    assert (cold["value"], cold["met"]) == (0.5, True)
    assert (docs["value"], docs["met"]) == (None, None)  # a timeout measured nothing
    assert figures.ratio("on target", 20.0, 20, 1.0, figures.AT_MOST)["met"] is True
    assert figures.ratio("just over", 20.1, 20, 1.0, figures.AT_MOST) == {
        "name": "just over", "value": 1.005, "target": 1.0, "bound": "at most", "met": False}
    assert figures.ratio("context", 1.0, 2.0, None)["met"] is None
    assert figures.ratio("nothing to divide by", 1.0, 0, 1.0)["value"] is None


def _targets_with(tmp_path: Path, old: str, new: str) -> Path:
    text = BENCH_TARGETS.read_text("utf-8")
    assert old in text
    path = tmp_path / "targets.toml"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_the_targets_file_states_the_times_and_the_loader_checks_them(tmp_path: Path):
    assert load_targets()["times"] == {"interop_warm_seconds": 20, "interop_cold_seconds": 120, "docs_warm_seconds": 120}
    misspelt = _targets_with(tmp_path, "interop_cold_seconds = ", "interop_cold_secs = ")
    with pytest.raises(DataFileError, match=r"targets.toml: times: unknown keys \['interop_cold_secs'\] .*; "
                                            r"missing keys \['interop_cold_seconds'\]"):
        load_targets(misspelt)
    with pytest.raises(DataFileError, match=r"times: docs_warm_seconds = 0; expected seconds above 0"):
        load_targets(_targets_with(tmp_path, "docs_warm_seconds = 120", "docs_warm_seconds = 0"))
    with pytest.raises(DataFileError, match=r"times: interop_warm_seconds = '20'; expected a number"):
        load_targets(_targets_with(tmp_path, "interop_warm_seconds = 20", "interop_warm_seconds = '20'"))
    with pytest.raises(DataFileError, match=r"top level: .*missing keys \['times'\]"):
        load_targets(_targets_with(tmp_path, "[times]", "[time]"))


def test_the_figures_builder_assembles_bench_json(tmp_path: Path):
    parts = {**figures.measured(), "questdb": {"version": "9.9.9", "startup_seconds": 4.2,
                                              "handshakes": {"error": "no java"}, "rows": {"error": "no java"}},
             "interop": {"seconds": 10.0, "exit_code": 0, "summary": "interop: 3 passed, 0 failed"},
             "docs_warm": {"error": "no pages in X", "pages": []}}
    parts["handshakes"]["questdb"] = parts["rows"]["questdb"] = {"error": "no java"}
    machine = {"cores": 2, "python": "3.11", "questdb": "1.0 (pinned)"}
    config = {"build_dir": tmp_path, "workers": 2, "duration": 1.0, "warmup": 0.5, "rows": 10}
    result = figures.build(started=datetime(2026, 1, 2, tzinfo=UTC), machine=machine, git={}, config=config,
                           targets=TARGETS, parts=parts, errors={"docs warm": "no pages in X"}, seconds=12.34)
    assert "questdb" not in result  # its version and start-up time went into the machine's description
    assert result["machine"] == {"cores": 2, "python": "3.11", "questdb": "9.9.9", "questdb_startup_seconds": 4.2}
    assert result["config"]["build_dir"] == str(tmp_path) and result["seconds"] == 12.3
    assert result["started"] == "2026-01-02T00:00:00+00:00" and result["ratios"] == figures.ratios(result, TARGETS)
    lines = result["table"].splitlines()
    assert "interop run, warm (python -m interop): 10.0 s wall (exit 0; interop: 3 passed, 0 failed)" in lines
    assert ("interop run, cold (python -m interop from a clone of HEAD, empty build folder and GOCACHE, package "
            "caches kept): skipped") in lines
    assert "docs check, warm (python -m interop.docs): FAILED: no pages in X" in lines
    assert "FAILED docs warm: no pages in X" in lines
    warm = next(line for line in lines if line.startswith("interop run, warm: s / 20 s"))
    assert warm.split()[-4:] == ["0.500", "<=", "1.00", "yes"]
    assert json.loads(json.dumps(result)) == result  # bench.json is written from it as it is


def test_a_timed_command_keeps_its_exit_code_summary_and_output_tails_when_it_fails(tmp_path: Path):
    """A failing verdict is timed; a crash or a timeout reached no verdict: an error, with its tails."""
    script = "import sys; print('build go: built (1.0 s)'); print('interop: 3 passed, 1 failed'); sys.exit(1)"
    failed = times.timed([sys.executable, "-c", script], tmp_path, 30, tmp_path / "run.log")
    assert failed["exit_code"] == 1 and failed["summary"] == "interop: 3 passed, 1 failed" and "error" not in failed
    assert failed["builds"] == {"go": "built"} and failed["stdout_tail"].endswith("interop: 3 passed, 1 failed")
    assert failed["command"] == f"python -c {script}" and "interop: 3 passed" in (tmp_path / "run.log").read_text()
    passed = times.timed([sys.executable, "-c", "print('docs: 3 passed, 0 failed, 1 skipped')"], tmp_path, 30,
                         tmp_path / "ok.log")
    assert passed["exit_code"] == 0 and passed["summary"] == "docs: 3 passed, 0 failed, 1 skipped"
    assert "stdout_tail" not in passed and "builds" not in passed
    crashed = times.timed([sys.executable, "-c", "print('docs: checking'); raise SystemExit('no data file')"], tmp_path,
                          30, tmp_path / "crashed.log")  # ended without its summary line: no verdict
    assert crashed["exit_code"] == 1 and crashed["summary"] is None and "no data file" in crashed["stderr_tail"]
    assert "ended (exit 1) without its summary line: no verdict" in crashed["error"]
    slow = times.timed([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, 0.5, tmp_path / "slow.log")
    assert slow["exit_code"] is None and "did not finish within 0.5 s" in slow["error"] and "stderr_tail" in slow
    assert figures.ratios({"handshakes": {}, "rows": {}, "interop": crashed, "interop_cold": slow},
                          TARGETS)[-3]["value"] is None  # no verdict, no time to it


def test_the_docs_time_without_shared_pages_is_an_error_not_a_crash(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ILP_SHARED_DIR", str(tmp_path / "nowhere"))
    errors = {}
    docs = run_part(errors, "docs warm", times.docs_warm, None, tmp_path)
    assert docs == {"error": f"no pages in {tmp_path / 'nowhere' / 'docs-pages'}: nothing for the docs check to time",
                    "pages": []}
    assert errors == {"docs warm": docs["error"]}


@pytest.mark.timeout(120)
def test_short_run_against_the_stub_writes_the_table_and_json(tmp_path: Path, capsys):
    code = main(["--build-dir", str(tmp_path), "--skip-openssl", "--skip-questdb", "--skip-interop", "--skip-cold",
                 "--skip-docs", "--profile", "never", "--rows", "3000", "--workers", "2", "--warmup", "0.3", "--duration", "0.7"])
    out = capsys.readouterr().out
    result = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert code == 0, out
    assert result["handshakes"]["stub"]["handshakes"] > 0 and not result["handshakes"]["stub"]["problems"]
    assert result["rows"]["stub"]["rows_done"] == 3000 and not result["rows"]["stub"]["problems"]
    assert result["floor"]["rows"] == 3000 and result["floor"]["pipeline_us_per_row"] > 0
    assert "stub / QuestDB handshakes/s" in out and result["table"] in out
    assert set(result["feed"]["shapes"]) == set(shapes.SHAPES) and result["feed"]["rows"] == 3000
    assert all(f["per_second"] > 0 for f in [*result["feed"]["shapes"].values(), *result["rewrite"]["parsers"].values()])
    assert "feed text rows/s: after / before the grammar rewrite" in out
    assert result["interop"] is result["interop_cold"] is result["docs_warm"] is None
    assert "docs check, warm (python -m interop.docs): skipped" in out


def _rows_of(stream: IlpStream, payload, piece: int) -> list[dict]:
    """Every row of the payload fed in pieces of `piece` bytes (a binary value split across writes too)."""
    data, rows = b"".join(payload.chunks), []
    for begin in range(0, len(data), piece):
        got, error = stream.feed(data[begin:begin + piece])
        assert error is None, error
        rows += got
    return rows


@pytest.mark.parametrize("shape", list(shapes.SHAPES))
def test_shape_payloads_parse_back_to_the_rows_they_were_made_from(shape):
    payload = shapes.build(shape, 5000, rows_per_chunk=2048)
    assert len(payload.chunks) == 3 and payload.total_bytes == 5000 * payload.line_bytes
    for piece in (len(payload.chunks[0]), 997):
        rows = _rows_of(IlpStream(), payload, piece)
        assert [r["timestamp"]["value"] for r in rows] == list(range(payload.base_ns, payload.base_ns + 5000 * STEP_NS,
                                                                      STEP_NS))
        assert all({**r, "timestamp": payload.expected["timestamp"]} == payload.expected for r in rows)


def test_the_shapes_differ_only_by_the_float_encoding_and_the_array():
    text, doubles, array = (shapes.SHAPES[s]()["columns"] for s in shapes.SHAPES)
    fixture = fixture_row()["columns"]
    assert text == fixture and "binary" not in json.dumps(text)
    floats = {k for k, c in fixture.items() if c["type"] == "float"}
    assert floats and {k for k, c in doubles.items() if c.get("binary")} == floats
    assert {k: {**c, "binary": False} for k, c in doubles.items()} == {k: {**c, "binary": False} for k, c in text.items()}
    readings = array.pop(shapes.ARRAY_COLUMN)
    assert array == text and readings["shape"] == [100] and len(readings["value"]) == 100
    assert any(b"\n" in struct.pack("<d", x) for x in readings["value"])  # a line end inside the binary payload
    assert b"temp==" in shapes.build(shapes.BINARY_DOUBLES, 1).chunks[0]


def test_the_parser_before_the_rewrite_comes_from_git_and_reads_the_text_rows_alike():
    old = rewrite.load_before()
    assert old.__name__ == rewrite.MODULE and old.IlpStream is not IlpStream
    payload = build_payload(3000, rows_per_chunk=1024)
    assert _rows_of(old.IlpStream(), payload, 1024 * payload.line_bytes) == _rows_of(IlpStream(), payload, 1000)


def test_the_parser_before_the_rewrite_fails_clearly_without_its_revision_or_git(monkeypatch):
    with pytest.raises(rewrite.RevisionUnavailable, match="git show 0{40}:server_stub.*needs revision"):
        rewrite.load_before(revision="0" * 40, name="ilp_never_loaded")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(rewrite.RevisionUnavailable, match="git is not available"):
        rewrite.load_before(name="ilp_never_loaded")
