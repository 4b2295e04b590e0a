"""The real QuestDB (interop/questdb/launcher.py, auth file interop/keys/auth.txt): started once, the
same handshake load and rows stream as the stub's, then stopped. QuestDB says nothing on the wire, so
both runs are checked, and the rows timed, by `select count()` over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

from server_stub.client import Key as ClientKey

from ..paths import AUTH_DB
from ..questdb.launcher import QuestDBProcess
from . import handshakes, rows_stream
from .loadgen import PROBE_TABLE, RowStream, machine_busy_seconds, process_cpu_seconds, run_handshakes
from .parts import fail, one_line, run_part
from .rows import TABLE, Payload

POLL_INTERVAL = 0.05  # QuestDB count() polls
PROBE_WAIT = 15.0  # probe rows visible after the handshake load
PARTS = ("handshakes questdb", "rows questdb")


def run(args, out: Path, jwk: dict, payload: Payload, errors: dict) -> dict:
    """{"handshakes", "rows"}: the two runs' figures (None: failed, {"error"}: QuestDB did not start),
    and, once it started, {"version", "startup_seconds"} for the machine's description."""
    print("questdb: starting ...", flush=True)
    try:
        qdb = QuestDBProcess(AUTH_DB, out / "questdb")
        qdb.start()
    except Exception as error:  # noqa: BLE001 (QuestDBError, or anything else: one line, the rest goes on)
        line = one_line(error)
        for name in PARTS:
            errors[name] = line
        print(f"bench: questdb FAILED: {line}", flush=True)
        return {"handshakes": {"error": line}, "rows": {"error": line}}
    try:
        return {"version": qdb.version, "startup_seconds": round(qdb.startup_seconds or 0, 2),
                "handshakes": run_part(errors, PARTS[0], _handshakes, qdb, args, jwk),
                "rows": run_part(errors, PARTS[1], _rows, qdb, args, jwk, payload)}
    finally:
        try:
            qdb.stop()
        except Exception as error:  # noqa: BLE001
            fail(errors, "questdb stop", one_line(error))


def _handshakes(qdb: QuestDBProcess, args, jwk: dict) -> dict:
    """Every 100th handshake carries one probe row in the same write as its signature: all of them must
    become visible."""
    load = run_handshakes(qdb.host, qdb.ilp_port, jwk, args.workers, args.warmup, args.duration, qdb.proc.pid)
    stored = qdb.wait_for_counts([PROBE_TABLE], at_least=load.probes, timeout=PROBE_WAIT,
                                 interval=POLL_INTERVAL)[PROBE_TABLE]
    problems = handshakes.client_problems(load)
    if stored != load.probes:
        problems.append(f"{stored} probe rows stored after {PROBE_WAIT:.0f} s, {load.probes} sent")
    return handshakes.figures("questdb", load, handshakes.threads(qdb.proc.pid), problems,
                              f"{stored:,}/{load.probes:,} probe rows")


def _rows(qdb: QuestDBProcess, args, jwk: dict, payload: Payload) -> dict:
    """Done when `select count() from bench_rows` reaches the total (its commit timer is 200 ms in the
    launcher's server.conf)."""
    pid = qdb.proc.pid
    stream = RowStream(qdb.host, qdb.ilp_port, ClientKey.from_jwk(jwk), payload.chunks, half_close=False)
    cpu_from, machine_from = process_cpu_seconds(pid), machine_busy_seconds()
    stream.start()
    count = qdb.wait_for_counts([TABLE], at_least=payload.rows, timeout=args.questdb_rows_timeout,
                                interval=POLL_INTERVAL)[TABLE]
    seen_at = time.perf_counter() if count >= payload.rows else None
    cpu_to, machine_to = process_cpu_seconds(pid), machine_busy_seconds()
    closed_by_server = stream.closed.is_set()
    generator_cpu = stream.finish()
    problems = []
    if seen_at is None:
        seen_at = time.perf_counter()
        problems.append(f"{count:,} of {payload.rows:,} rows visible after {args.questdb_rows_timeout:g} s"
                        + (" (QuestDB closed the connection: see its log)" if closed_by_server else ""))
    seconds = seen_at - stream.first_byte
    figures = {
        **rows_stream.figures(count, payload, stream, seconds, generator_cpu, (cpu_from, cpu_to),
                              (machine_from, machine_to)),
        "limited": False,
        "done_when": f"`select count() from {TABLE}` over HTTP reached the total (polled every {POLL_INTERVAL} s)",
        "problems": problems,
    }
    print(f"rows questdb: {figures['per_second']:,.0f} rows/s ({count:,} rows in {seconds:.2f} s)", flush=True)
    return figures
