"""`python -m interop.bench`: the stub and the real QuestDB side by side, with the same load generator.

Parts, each with its own timeout; a part that cannot run (no openssl, java or mvn, ...) prints one line
and the others still report:

1. the ceiling: `openssl speed -seconds 3 ecdsap256`, verify/s on one core;
2. handshakes/s through the stub (`python -m server_stub serve`) and through QuestDB (QuestDBProcess,
   interop/keys/auth.txt, key testUser1): client processes (loadgen.py) for a warm-up, then a measured
   window; acceptance checked from the stub's events and from probe rows stored by QuestDB;
3. ILP rows/s: one authenticated connection streams the same rows (rows.py) to each; the stub is done
   when it closes the connection after our end of stream (every row parsed and recorded), QuestDB when
   `select count()` reaches the total; the stub gets a time limit (then it is stopped and its recorded
   rows count);
4. in-process, IlpStream.feed alone, side by side: the rows as text floats, as binary doubles and with a
   100-double array (feed.py, shapes.py), and the text rows through the parser before the grammar
   rewrite (read from git) and after it (rewrite.py);
5. the warm interop run's wall time (`python -m interop`, skipped with --skip-interop);
6. where the stub misses a target, the same load again against the stub under pyinstrument
   (profiled_stub.py); top functions by self and cumulative time.

Prints the table of figures and ratios and writes it, with every figure, to BUILD/bench/bench.json.
Exit code 0 unless a part could not be measured; missed targets never fail the run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from server_stub.client import Key as ClientKey
from server_stub.keys import load_jwk
from server_stub.loops import default_loop
from server_stub.records import by_connection, read_events

from ..datafile import Key, Table, load_toml
from ..paths import AUTH_DB, BENCH_TARGETS, DEFAULT_BUILD_DIR, DEFAULT_JWK, REPO
from ..process import run
from ..questdb.launcher import QuestDBProcess, pinned
from ..stubproc import StubProcess
from . import ceiling, feed, floor, profiling, report, rewrite
from .loadgen import PROBE_TABLE, RowStream, machine_busy_seconds, process_cpu_seconds, run_handshakes
from .rows import TABLE, Payload, build_payload

TARGETS = Table({  # targets.toml: stated beside the figures, never asserted
    "handshakes": Key(dict, table=Table({"vs_questdb": Key(float), "vs_openssl_verify": Key(float)})),
    "rows": Key(dict, table=Table({"vs_questdb": Key(float), "per_second": Key(int)})),
    "ilp": Key(dict, table=Table({"rewrite_after_vs_before": Key(float)})),
})
PYINSTRUMENT = "pyinstrument==5.1.3"

POLL_INTERVAL = 0.05  # QuestDB count() polls
PROBE_WAIT = 15.0  # QuestDB: probe rows visible after the handshake load
CLOSE_WAIT = 30.0  # the stub: closing the rows connection after SIGTERM
INTEROP_TIMEOUT = 600.0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    out = (args.build_dir / "bench").resolve()
    (out / "events").mkdir(parents=True, exist_ok=True)
    # profiled_stub is started as `python -m interop.bench.profiled_stub`, from any working directory
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    targets = load_targets()
    jwk = load_jwk(DEFAULT_JWK)
    result: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "git": _git(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "targets": targets, "errors": {}, "handshakes": {}, "rows": {}, "openssl": None, "floor": None, "feed": None,
        "rewrite": None, "interop": None, "profile": {},
    }
    errors = result["errors"]
    print(f"bench: {result['machine']['cores']} cores; {args.workers} client processes; output in {out}", flush=True)

    if not args.skip_openssl:
        result["openssl"] = _part(errors, "openssl", ceiling.openssl_verify_rate)
        if result["openssl"]:
            print(f"openssl: {result['openssl']['verify_per_second']:,.1f} verify/s on one core", flush=True)

    payload = build_payload(args.rows)
    print(f"rows payload: {payload.rows:,} rows, {payload.total_bytes / 1e6:.0f} MB in {len(payload.chunks)} writes",
          flush=True)

    result["handshakes"]["stub"] = _part(errors, "handshakes stub", _stub_handshakes, args, out, jwk)
    result["rows"]["stub"] = _part(errors, "rows stub", _stub_rows, args, out, jwk, payload, args.stub_rows_limit)
    result["floor"] = _part(errors, "floor", _floor, min(args.rows, floor.ROWS))
    result["feed"] = _part(errors, "feed", _feed, min(args.rows, feed.ROWS))
    result["rewrite"] = _part(errors, "rewrite", _rewrite, min(args.rows, feed.ROWS))
    if not args.skip_questdb:
        _questdb(args, out, jwk, payload, result)
    result["ratios"] = report.ratios(result, targets)

    for kind in _to_profile(args.profile, result["ratios"]):
        summary = _part(errors, f"profile {kind}", _profile, kind, args, out, jwk, payload)
        if summary:
            result["profile"][kind] = summary

    if not args.skip_interop:
        result["interop"] = _part(errors, "interop", _interop, args, out)

    result["seconds"] = round(time.perf_counter() - started, 1)
    table = report.render(result)
    profiles = "\n\n".join(profiling.format_summary(k, v) for k, v in result["profile"].items())
    result["table"] = table
    path = out / "bench.json"
    path.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print("\n" + table + ("\n\n" + profiles if profiles else ""))
    print(f"\nbench: {result['seconds']:.0f} s; {path}")
    return 1 if errors else 0


def load_targets(path: Path = BENCH_TARGETS) -> dict:
    return load_toml(path, TARGETS)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m interop.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR, help="writes BUILD_DIR/bench/bench.json")
    parser.add_argument("--workers", type=int, default=4, help="client processes for handshakes (default 4)")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of handshakes not counted (default 3: QuestDB's JIT needs them)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of handshakes counted (default 5)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows streamed to each server")
    parser.add_argument("--stub-rows-limit", type=float, default=20.0,
                        help="seconds the stub gets for the rows; then it is stopped and its recorded rows count")
    parser.add_argument("--questdb-rows-timeout", type=float, default=60.0)
    parser.add_argument("--skip-openssl", action="store_true")
    parser.add_argument("--skip-questdb", action="store_true")
    parser.add_argument("--skip-interop", action="store_true", help="do not time `python -m interop`")
    parser.add_argument("--interop-arg", action="append", default=[], metavar="ARG",
                        help="passed on to `python -m interop` (repeatable)")
    parser.add_argument("--interop-timeout", type=float, default=INTEROP_TIMEOUT)
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="profile the stub (pyinstrument) where it misses a target (auto), always, or never")
    parser.add_argument("--profile-seconds", type=float, default=3.0, help="handshake load under the profiler")
    parser.add_argument("--profile-rows-limit", type=float, default=8.0, help="rows stream under the profiler")
    parser.add_argument("--keep-events", action="store_true", help="keep the stub's rows events (large)")
    return parser.parse_args(argv)


def _part(errors: dict, name: str, function, *args):
    """Run one part; on failure record and print ONE line and return None."""
    print(f"{name} ...", flush=True)
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 (one part failing must not stop the others)
        line = " ".join(str(error).split()) or type(error).__name__
        errors[name] = line
        print(f"bench: {name} FAILED: {line}", flush=True)
        return None


def _machine() -> dict:
    found = re.search(r'version "([^"]+)"', run(["java", "-version"], None, 30).stderr)
    java = found.group(1) if found else None
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "java": java, "questdb": pinned()["version"], "stub_loop": default_loop()}


def _git() -> dict:
    """The commit measured, and whether the stub's source differs from it (figures move with the stub)."""
    def git(*args: str) -> str | None:
        done = run(["git", "-C", str(REPO), *args], None, 30)
        return done.stdout.strip() if done.ok else None

    status = git("status", "--porcelain", "--", "server_stub/src")
    return {"commit": git("rev-parse", "HEAD"), "stub_source_modified": None if status is None else bool(status)}


def _threads(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


# --- handshakes -----------------------------------------------------------------------------------

def _stub_handshakes(args, out: Path, jwk: dict) -> dict:
    with StubProcess(AUTH_DB, out / "events" / "stub-handshakes.jsonl") as stub:
        threads = _threads(stub.proc.pid)
        load = run_handshakes(stub.host, stub.port, jwk, args.workers, args.warmup, args.duration, stub.proc.pid)
    conns = by_connection(stub.events()).values()
    auths = [c.auth for c in conns if c.auth is not None]
    accepted = sum(c.accepted for c in conns)
    probes = sum(row["table"] == PROBE_TABLE for c in conns for row in c.rows)
    problems = _client_problems(load)
    if not len(auths) == accepted == load.total:
        reasons = sorted({a.get("reason_code") for a in auths if not a["accepted"]})
        problems.append(f"{len(auths)} auth events, {accepted} accepted, for {load.total} handshakes "
                        f"(reasons: {', '.join(map(str, reasons)) or 'none'})")
    if probes != load.probes:
        problems.append(f"{probes} probe rows recorded, {load.probes} sent")
    figures = {**load.as_dict(), "server_threads": threads, "problems": problems,
               "checked": f"{accepted:,}/{load.total:,} (auth events)"}
    _print_handshakes("stub", figures)
    return figures


def _questdb_handshakes(qdb: QuestDBProcess, args, jwk: dict) -> dict:
    load = run_handshakes(qdb.host, qdb.ilp_port, jwk, args.workers, args.warmup, args.duration, qdb.proc.pid)
    stored = qdb.wait_for_counts([PROBE_TABLE], at_least=load.probes, timeout=PROBE_WAIT,
                                 interval=POLL_INTERVAL)[PROBE_TABLE]
    problems = _client_problems(load)
    if stored != load.probes:
        problems.append(f"{stored} probe rows stored after {PROBE_WAIT:.0f} s, {load.probes} sent")
    figures = {**load.as_dict(), "server_threads": _threads(qdb.proc.pid), "problems": problems,
               "checked": f"{stored:,}/{load.probes:,} probe rows"}
    _print_handshakes("questdb", figures)
    return figures


def _client_problems(load) -> list[str]:
    if not load.errors:
        return []
    return [f"{load.errors} handshakes failed on the client side; first: {load.first_error}"]


def _print_handshakes(name: str, f: dict) -> None:
    print(f"handshakes {name}: {f['per_second']:,.1f}/s ({f['handshakes']:,} in {f['seconds']:g} s; generator "
          f"{f['generator_cpu_cores']} cores, server {f['server_cpu_cores']} cores)", flush=True)


# --- rows -----------------------------------------------------------------------------------------

def _stub_rows(args, out: Path, jwk: dict, payload: Payload, limit: float, stub: StubProcess | None = None,
               events_name: str = "stub-rows.jsonl") -> dict:
    """The rows to the stub; `stub` (not started) lets the profiler run the same thing."""
    events_path = out / "events" / events_name
    stub = stub or StubProcess(AUTH_DB, events_path)
    with stub:
        pid = stub.proc.pid
        stream = RowStream(stub.host, stub.port, ClientKey.from_jwk(jwk), payload.chunks, half_close=True)
        cpu_from, machine_from = process_cpu_seconds(pid), machine_busy_seconds()
        stream.start()
        limited = not stream.closed.wait(limit)
        cpu_to, machine_to = process_cpu_seconds(pid), machine_busy_seconds()
        if limited:
            stub.stop()  # SIGTERM: the stub closes the connection at once, recording what it parsed
            if not stream.closed.wait(CLOSE_WAIT):
                raise RuntimeError(f"the stub did not close the rows connection within {CLOSE_WAIT:.0f} s of SIGTERM")
        generator_cpu = stream.finish()
    recorded, first, close = _scan_row_events(stub.events_path)
    if not args.keep_events:
        stub.events_path.unlink(missing_ok=True)
    seconds = stream.closed_at - stream.first_byte
    problems = []
    if first is not None and {k: first.get(k) for k in payload.expected} != payload.expected:
        problems.append(f"the first row event differs from the fixture's row: {json.dumps(first)[:300]}")
    if close is None or close.get("rows") != recorded:
        problems.append(f"{recorded} row events, close event {close}")
    if not limited and recorded != payload.rows:
        problems.append(f"the stub closed after {recorded:,} of {payload.rows:,} rows (close: {close})")
    figures = {
        **_rows_figures(recorded, payload, stream, seconds, generator_cpu, (cpu_from, cpu_to), (machine_from, machine_to)),
        "limited": limited, "limit_seconds": limit,
        "done_when": "the stub closed the connection after our end of stream (every row parsed and recorded)"
                     if not limited else f"time limit: the stub was stopped after {limit:g} s; its recorded rows",
        "problems": problems,
    }
    note = f" (stopped at the {limit:g} s limit)" if limited else ""
    print(f"rows stub: {figures['per_second']:,.0f} rows/s ({recorded:,} rows in {seconds:.2f} s{note})", flush=True)
    return figures


def _rows_figures(done: int, payload: Payload, stream: RowStream, seconds: float, generator_cpu: float,
                  server_cpu: tuple, machine_busy: tuple) -> dict:
    """What both rows parts measure; `server_cpu` and `machine_busy` are (from, to) readings around it."""
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


def _questdb_rows(qdb: QuestDBProcess, args, jwk: dict, payload: Payload) -> dict:
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
        **_rows_figures(count, payload, stream, seconds, generator_cpu, (cpu_from, cpu_to), (machine_from, machine_to)),
        "limited": False,
        "done_when": f"`select count() from {TABLE}` over HTTP reached the total (polled every {POLL_INTERVAL} s)",
        "problems": problems,
    }
    print(f"rows questdb: {figures['per_second']:,.0f} rows/s ({count:,} rows in {seconds:.2f} s)", flush=True)
    return figures


def _floor(rows: int) -> dict:
    figures = floor.measure(rows)
    print(f"floor: in-process, the stub's row pipeline {figures['pipeline_rows_per_second']:,} rows/s; building and "
          f"encoding the row event alone {figures['build_encode_rows_per_second']:,} rows/s", flush=True)
    return figures


def _feed(rows: int) -> dict:
    figures = feed.measure_shapes(rows)
    rates = ", ".join(f"{name} {f['per_second']:,.0f}" for name, f in figures["shapes"].items())
    print(f"feed: IlpStream.feed alone, rows/s: {rates}", flush=True)
    return figures


def _rewrite(rows: int) -> dict:
    figures = rewrite.measure(rows)
    before, after = figures["parsers"][rewrite.BEFORE], figures["parsers"][rewrite.AFTER]
    print(f"rewrite: IlpStream.feed text rows/s, before the grammar rewrite ({figures['revision']}) "
          f"{before['per_second']:,.0f}, after {after['per_second']:,.0f}", flush=True)
    return figures


# --- QuestDB --------------------------------------------------------------------------------------

def _questdb(args, out: Path, jwk: dict, payload: Payload, result: dict) -> None:
    print("questdb: starting ...", flush=True)
    try:
        qdb = QuestDBProcess(AUTH_DB, out / "questdb")
        qdb.start()
    except Exception as error:  # noqa: BLE001 (QuestDBError, or anything else: one line, the rest goes on)
        line = " ".join(str(error).split())
        for name in ("handshakes questdb", "rows questdb"):
            result["errors"][name] = line
            result[name.split()[0]]["questdb"] = {"error": line}
        print(f"bench: questdb FAILED: {line}", flush=True)
        return
    try:
        result["machine"]["questdb"] = qdb.version
        result["machine"]["questdb_startup_seconds"] = round(qdb.startup_seconds or 0, 2)
        result["handshakes"]["questdb"] = _part(result["errors"], "handshakes questdb", _questdb_handshakes, qdb,
                                                args, jwk)
        result["rows"]["questdb"] = _part(result["errors"], "rows questdb", _questdb_rows, qdb, args, jwk, payload)
    finally:
        try:
            qdb.stop()
        except Exception as error:  # noqa: BLE001
            result["errors"]["questdb stop"] = " ".join(str(error).split())


# --- profiles -------------------------------------------------------------------------------------

def _to_profile(mode: str, ratios: list[dict]) -> list[str]:
    if mode == "never":
        return []
    if mode == "always":
        return ["handshakes", "rows"]
    kinds = []
    for ratio in ratios:
        if ratio["met"] is False and ratio["name"].startswith("stub"):
            kind = "rows" if "rows" in ratio["name"] else "handshakes"
            if kind not in kinds:
                kinds.append(kind)
    return kinds


def _profile(kind: str, args, out: Path, jwk: dict, payload: Payload) -> dict:
    if importlib.util.find_spec("pyinstrument") is None:
        raise RuntimeError(f"pyinstrument is not installed (pip install {PYINSTRUMENT}; nox -s bench installs it)")
    prefix = out / "profile" / kind
    stub = StubProcess(AUTH_DB, out / "events" / f"profile-{kind}.jsonl")
    # `python -m server_stub serve ...` becomes `python -m interop.bench.profiled_stub --out P -- serve ...`
    stub.cmd = [sys.executable, "-m", "interop.bench.profiled_stub", "--out", str(prefix), "--", *stub.cmd[3:]]
    if kind == "handshakes":
        with stub:
            load = run_handshakes(stub.host, stub.port, jwk, args.workers, 0.5, args.profile_seconds, stub.proc.pid)
        figure = f"{load.per_second:,.1f} handshakes/s under the profiler"
    else:
        rows = _stub_rows(args, out, jwk, payload, args.profile_rows_limit, stub=stub)
        figure = f"{rows['per_second']:,.0f} rows/s under the profiler"
    summary = profiling.summarize(prefix.with_suffix(".pyisession"))
    summary.update(measured_under_profiler=figure, text=str(prefix.with_suffix(".txt")),
                   session=str(prefix.with_suffix(".pyisession")))
    print(f"profile {kind}: {figure}; {prefix.with_suffix('.txt')}", flush=True)
    return summary


# --- the interop run ------------------------------------------------------------------------------

def _interop(args, out: Path) -> dict:
    cmd = [sys.executable, "-m", "interop", "--build-dir", str(args.build_dir.resolve()), *args.interop_arg]
    log = out / "interop.log"
    done = run(cmd, REPO, args.interop_timeout)  # its own process group: the stubs and examples it started go too
    log.write_text(done.stdout + done.stderr, "utf-8")
    if done.exit_code is None:
        raise RuntimeError(f"`python -m interop` did not finish within {args.interop_timeout:g} s (log: {log})")
    summary = re.findall(r"^interop: \d+ passed, \d+ failed.*$", done.stdout, re.MULTILINE)
    figures = {"seconds": round(done.seconds, 1), "exit_code": done.exit_code, "summary": summary[-1] if summary else None,
               "command": " ".join(["python", *cmd[1:]]), "log": str(log)}
    print(f"interop: {done.seconds:.1f} s wall, exit {done.exit_code} ({figures['summary']})", flush=True)
    return figures
