"""ILP rows/s through the stub: one authenticated connection streams the payload (rows.py), and the
figures that both servers' rows runs share (QuestDB's run is in questdb_job.py: it is done when
`select count()` shows every row). The profiler (profiles.py) runs the same stub stream under pyinstrument."""

from __future__ import annotations

import json
from pathlib import Path

from server_stub.client import Key as ClientKey
from server_stub.records import read_events

from ..paths import AUTH_DB
from ..stubproc import StubProcess
from .loadgen import RowStream, machine_busy_seconds, process_cpu_seconds
from .rows import Payload

CLOSE_WAIT = 30.0  # the stub: closing the rows connection after SIGTERM


def stub(args, out: Path, jwk: dict, payload: Payload, limit: float, server: StubProcess | None = None,
         events_name: str = "stub-rows.jsonl") -> dict:
    """The rows to the stub, done when it closes the connection after our end of stream (every row
    parsed and recorded) or stopped at `limit` seconds; `server` (not started) lets the profiler run
    the same thing."""
    server = server or StubProcess(AUTH_DB, out / "events" / events_name)
    with server:
        pid = server.proc.pid
        stream = RowStream(server.host, server.port, ClientKey.from_jwk(jwk), payload.chunks, half_close=True)
        cpu_from, machine_from = process_cpu_seconds(pid), machine_busy_seconds()
        stream.start()
        limited = not stream.closed.wait(limit)
        cpu_to, machine_to = process_cpu_seconds(pid), machine_busy_seconds()
        if limited:
            server.stop()  # SIGTERM: the stub closes the connection at once, recording what it parsed
            if not stream.closed.wait(CLOSE_WAIT):
                raise RuntimeError(f"the stub did not close the rows connection within {CLOSE_WAIT:.0f} s of SIGTERM")
        generator_cpu = stream.finish()
    recorded, first, close = _scan_row_events(server.events_path)
    if not args.keep_events:
        server.events_path.unlink(missing_ok=True)
    seconds = stream.closed_at - stream.first_byte
    problems = []
    if first is not None and {k: first.get(k) for k in payload.expected} != payload.expected:
        problems.append(f"the first row event differs from the fixture's row: {json.dumps(first)[:300]}")
    if close is None or close.get("rows") != recorded:
        problems.append(f"{recorded} row events, close event {close}")
    if not limited and recorded != payload.rows:
        problems.append(f"the stub closed after {recorded:,} of {payload.rows:,} rows (close: {close})")
    result = {
        **figures(recorded, payload, stream, seconds, generator_cpu, (cpu_from, cpu_to), (machine_from, machine_to)),
        "limited": limited, "limit_seconds": limit,
        "done_when": "the stub closed the connection after our end of stream (every row parsed and recorded)"
                     if not limited else f"time limit: the stub was stopped after {limit:g} s; its recorded rows",
        "problems": problems,
    }
    note = f" (stopped at the {limit:g} s limit)" if limited else ""
    print(f"rows stub: {result['per_second']:,.0f} rows/s ({recorded:,} rows in {seconds:.2f} s{note})", flush=True)
    return result


def figures(done: int, payload: Payload, stream: RowStream, seconds: float, generator_cpu: float,
            server_cpu: tuple, machine_busy: tuple) -> dict:
    """What both rows runs measure; `server_cpu` and `machine_busy` are (from, to) readings around it."""
    return {
        "per_second": round(done / seconds, 1), "rows_done": done, "rows_sent_total": payload.rows,
        "seconds": round(seconds, 3),
        "send_seconds": None if stream.all_sent is None else round(stream.all_sent - stream.first_byte, 3),
        "bytes_sent": stream.sent_bytes, "generator_cpu_seconds": round(generator_cpu, 2),
        "server_cpu_cores": None if None in server_cpu else round((server_cpu[1] - server_cpu[0]) / seconds, 2),
        "generator_cpu_cores": round(generator_cpu / seconds, 2),
        "machine_busy_cores": round((machine_busy[1] - machine_busy[0]) / seconds, 2),
    }


def _scan_row_events(path: Path) -> tuple[int, dict | None, dict | None]:
    """(row events, the first row event, the rows connection's close event), each event checked against
    its record, reading the file once without keeping it in memory (after the measured window)."""
    rows, first, close = 0, None, None
    for event in read_events(path):
        if event["event"] == "row":
            rows += 1
            first = first or event
        elif event["event"] == "close" and close is None:
            close = event
    return rows, first, close
