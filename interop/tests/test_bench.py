"""The benchmark's own checks: parsing, the payloads, the parser before the rewrite, the table, and a short
run against the stub only."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from server_stub.ilp import IlpStream

from interop.bench import ceiling, figures, rewrite, shapes
from interop.bench.main import main
from interop.bench.profiling import _is_idle
from interop.bench.rows import STEP_NS, build_payload, fixture_row

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


def test_ratios_state_targets_without_asserting_them():
    targets = {"handshakes": {"vs_questdb": 1.0, "vs_openssl_verify": 0.5},
               "rows": {"vs_questdb": 1.0, "per_second": 1_000_000}, "ilp": {"rewrite_after_vs_before": 1.0}}
    result = {"handshakes": {"stub": {"per_second": 2000.0, "server_cpu_cores": 0.5},
                             "questdb": {"per_second": 500.0, "server_cpu_cores": None}},
              "rows": {"stub": {"per_second": 10_000.0}, "questdb": {"error": "no java"}},
              "openssl": {"verify_per_second": 8000.0},
              "feed": {"shapes": {"text floats": {"per_second": 20_000.0}, "binary doubles": {"per_second": 25_000.0},
                                  "100-double array": {"per_second": 10_000.0}}},
              "rewrite": {"parsers": {"before": {"per_second": 40_000.0}, "after": {"per_second": 30_000.0}}}}
    by_name = {r["name"]: r for r in figures.ratios(result, targets)}
    assert by_name["stub / QuestDB handshakes/s"] == {"name": "stub / QuestDB handshakes/s", "value": 4.0,
                                                     "target": 1.0, "met": True}
    assert by_name["stub handshakes/s / OpenSSL verify/s (1 core)"]["met"] is False
    assert by_name["stub handshakes per server core-second / OpenSSL verify/s"]["value"] == 0.5
    assert by_name["QuestDB handshakes per server core-second / OpenSSL verify/s"]["value"] is None
    assert by_name["stub / QuestDB ILP rows/s"]["value"] is None
    assert by_name["stub ILP rows/s / 1,000,000 rows/s"]["value"] == 0.01
    assert by_name["feed rows/s: binary doubles / text floats"] == {
        "name": "feed rows/s: binary doubles / text floats", "value": 1.25, "target": None, "met": None}
    assert by_name["feed rows/s: 100-double array / text floats"]["value"] == 0.5
    assert by_name["feed text rows/s: after / before the grammar rewrite"] == {
        "name": "feed text rows/s: after / before the grammar rewrite", "value": 0.75, "target": 1.0, "met": False}
    assert figures.ratios({**result, "feed": None, "rewrite": None}, targets)[-1]["value"] is None


@pytest.mark.timeout(120)
def test_short_run_against_the_stub_writes_the_table_and_json(tmp_path: Path, capsys):
    code = main(["--build-dir", str(tmp_path), "--skip-openssl", "--skip-questdb", "--skip-interop",
                 "--profile", "never", "--rows", "3000", "--workers", "2", "--warmup", "0.3", "--duration", "0.7"])
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
