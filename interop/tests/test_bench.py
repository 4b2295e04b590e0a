"""The benchmark's own checks: parsing, the payload, the table, and a short run against the stub only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from server_stub.ilp import IlpStream

from interop.bench import ceiling, report
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
    targets = {"handshakes": {"vs_questdb": 1.0, "vs_openssl_verify": 0.5}, "rows": {"vs_questdb": 1.0,
                                                                                      "per_second": 1_000_000}}
    result = {"handshakes": {"stub": {"per_second": 2000.0, "server_cpu_cores": 0.5},
                             "questdb": {"per_second": 500.0, "server_cpu_cores": None}},
              "rows": {"stub": {"per_second": 10_000.0}, "questdb": {"error": "no java"}},
              "openssl": {"verify_per_second": 8000.0}}
    by_name = {r["name"]: r for r in report.ratios(result, targets)}
    assert by_name["stub / QuestDB handshakes/s"] == {"name": "stub / QuestDB handshakes/s", "value": 4.0,
                                                     "target": 1.0, "met": True}
    assert by_name["stub handshakes/s / OpenSSL verify/s (1 core)"]["met"] is False
    assert by_name["stub handshakes per server core-second / OpenSSL verify/s"]["value"] == 0.5
    assert by_name["QuestDB handshakes per server core-second / OpenSSL verify/s"]["value"] is None
    assert by_name["stub / QuestDB ILP rows/s"]["value"] is None
    assert by_name["stub ILP rows/s / 1,000,000 rows/s"]["value"] == 0.01


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
