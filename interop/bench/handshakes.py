"""Handshakes/s through the stub, and the figures and checks that both servers' handshake runs share
(QuestDB's run is in questdb_job.py: it is checked by the probe rows QuestDB stores)."""

from __future__ import annotations

import os
from pathlib import Path

from server_stub.records import by_connection

from ..paths import AUTH_DB
from ..stubproc import StubProcess
from .loadgen import PROBE_TABLE, HandshakeLoad, run_handshakes


def stub(args, out: Path, jwk: dict) -> dict:
    """`args.workers` client processes against `python -m server_stub serve`; every handshake must show
    as one accepted `auth` event, every probe row as one `row` event."""
    with StubProcess(AUTH_DB, out / "events" / "stub-handshakes.jsonl") as server:
        server_threads = threads(server.proc.pid)
        load = run_handshakes(server.host, server.port, jwk, args.workers, args.warmup, args.duration, server.proc.pid)
    conns = by_connection(server.events()).values()
    auths = [c.auth for c in conns if c.auth is not None]
    accepted = sum(c.accepted for c in conns)
    probes = sum(row["table"] == PROBE_TABLE for c in conns for row in c.rows)
    problems = client_problems(load)
    if not len(auths) == accepted == load.total:
        reasons = sorted({a.get("reason_code") for a in auths if not a["accepted"]})
        problems.append(f"{len(auths)} auth events, {accepted} accepted, for {load.total} handshakes "
                        f"(reasons: {', '.join(map(str, reasons)) or 'none'})")
    if probes != load.probes:
        problems.append(f"{probes} probe rows recorded, {load.probes} sent")
    return figures("stub", load, server_threads, problems, f"{accepted:,}/{load.total:,} (auth events)")


def figures(name: str, load: HandshakeLoad, server_threads: int | None, problems: list[str], checked: str) -> dict:
    """One server's handshake figures, printed on one line."""
    f = {**load.as_dict(), "server_threads": server_threads, "problems": problems, "checked": checked}
    print(f"handshakes {name}: {f['per_second']:,.1f}/s ({f['handshakes']:,} in {f['seconds']:g} s; generator "
          f"{f['generator_cpu_cores']} cores, server {f['server_cpu_cores']} cores)", flush=True)
    return f


def client_problems(load: HandshakeLoad) -> list[str]:
    if not load.errors:
        return []
    return [f"{load.errors} handshakes failed on the client side; first: {load.first_error}"]


def threads(pid: int) -> int | None:
    """The server process's thread count (QuestDB's JVM has many; the stub one event loop)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None
