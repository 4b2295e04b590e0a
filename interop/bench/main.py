"""`python -m interop.bench`: the stub and the real QuestDB side by side, with the same load generator.

Parts, each with its own timeout; a part that cannot run (no openssl, java or mvn, ...) prints one line
and the others still report:

1. the ceiling: `openssl speed -seconds 3 ecdsap256`, verify/s on one core (ceiling.py);
2. handshakes/s through the stub (`python -m server_stub serve`, handshakes.py) and through QuestDB
   (questdb_job.py: interop/keys/auth.txt, key testUser1): client processes (loadgen.py) for a warm-up,
   then a measured window; acceptance checked from the stub's events and from probe rows stored by QuestDB;
3. ILP rows/s: one authenticated connection streams the same rows (rows.py) to each (rows_stream.py); the
   stub is done when it closes the connection after our end of stream (every row parsed and recorded),
   QuestDB when `select count()` reaches the total; the stub gets a time limit (then it is stopped and
   its recorded rows count);
4. in-process (in_process.py), IlpStream.feed alone, side by side: the rows as text floats, as binary
   doubles and with a 100-double array (feed.py, shapes.py), and the text rows through the parser before
   the grammar rewrite (read from git) and after it (rewrite.py);
5. where the stub misses a target, the same load again against the stub under pyinstrument
   (profiles.py, profiled_stub.py); top functions by self and cumulative time;
6. time to verdict (times.py): `python -m interop` warm (--skip-interop) and cold, from a fresh clone of
   HEAD with an empty build folder and GOCACHE (--skip-cold), and `python -m interop.docs` over
   the docs check's default pages, warm (--skip-docs); each beside its target in targets.toml [times].

figures.py assembles every figure and the ratios against targets.toml (targets.py) into
BUILD/bench/bench.json; report.py renders the table printed here. Exit code 0 unless a part could not be
measured; missed targets never fail the run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from server_stub.keys import load_jwk

from ..paths import DEFAULT_BUILD_DIR, DEFAULT_JWK, REPO
from . import (
    ceiling,
    feed,
    figures,
    floor,
    handshakes,
    in_process,
    machine,
    profiles,
    profiling,
    questdb_job,
    rows_stream,
    times,
)
from .parts import run_part
from .rows import build_payload
from .targets import load_targets

__all__ = ["load_targets", "main"]  # load_targets: interop/tests/test_data_files.py checks every data file


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started_at, started = datetime.now(UTC), time.perf_counter()
    out = (args.build_dir / "bench").resolve()
    (out / "events").mkdir(parents=True, exist_ok=True)
    # profiled_stub is started as `python -m interop.bench.profiled_stub`, from any working directory
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    targets = load_targets()
    jwk = load_jwk(DEFAULT_JWK)
    described = machine.describe()
    print(f"bench: {described['cores']} cores; {args.workers} client processes; output in {out}", flush=True)

    errors: dict = {}
    part = partial(run_part, errors)
    parts = figures.measured()
    if not args.skip_openssl:
        parts["openssl"] = part("openssl", ceiling.measure)
    payload = build_payload(args.rows)
    print(f"rows payload: {payload.rows:,} rows, {payload.total_bytes / 1e6:.0f} MB in {len(payload.chunks)} writes",
          flush=True)
    parts["handshakes"]["stub"] = part("handshakes stub", handshakes.stub, args, out, jwk)
    parts["rows"]["stub"] = part("rows stub", rows_stream.stub, args, out, jwk, payload, args.stub_rows_limit)
    parts["floor"] = part("floor", in_process.rows_floor, min(args.rows, floor.ROWS))
    parts["feed"] = part("feed", in_process.feed_shapes, min(args.rows, feed.ROWS))
    parts["rewrite"] = part("rewrite", in_process.grammar_rewrite, min(args.rows, feed.ROWS))
    if not args.skip_questdb:
        parts["questdb"] = qdb = questdb_job.run(args, out, jwk, payload, errors)
        parts["handshakes"]["questdb"], parts["rows"]["questdb"] = qdb["handshakes"], qdb["rows"]
    for kind in profiles.to_profile(args.profile, figures.ratios(parts, targets)):
        summary = part(f"profile {kind}", profiles.profile, kind, args, out, jwk, payload)
        if summary:
            parts["profile"][kind] = summary
    if not args.skip_interop:
        parts["interop"] = part("interop", times.interop_warm, args, out)
    if not args.skip_cold:
        parts["interop_cold"] = part("interop cold", times.interop_cold, args, out)
    if not args.skip_docs:
        parts["docs_warm"] = part("docs warm", times.docs_warm, args, out)

    result = figures.build(started=started_at, machine=described, git=machine.git_state(), config=vars(args),
                           targets=targets, parts=parts, errors=errors, seconds=time.perf_counter() - started)
    path = out / "bench.json"
    path.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    profiled = "\n\n".join(profiling.format_summary(k, v) for k, v in result["profile"].items())
    print("\n" + result["table"] + ("\n\n" + profiled if profiled else ""))
    print(f"\nbench: {result['seconds']:.0f} s; {path}")
    return 1 if errors else 0


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
                        help="passed on to `python -m interop`, warm and cold (repeatable)")
    parser.add_argument("--interop-timeout", type=float, default=times.INTEROP_TIMEOUT)
    parser.add_argument("--skip-cold", action="store_true",
                        help="do not time `python -m interop` from a fresh clone and empty build folder and GOCACHE")
    parser.add_argument("--cold-timeout", type=float, default=times.COLD_TIMEOUT)
    parser.add_argument("--skip-docs", action="store_true",
                        help="do not time `python -m interop.docs` over its default pages (warm)")
    parser.add_argument("--docs-timeout", type=float, default=times.DOCS_TIMEOUT, help="for each of its two runs")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="profile the stub (pyinstrument) where it misses a target (auto), always, or never")
    parser.add_argument("--profile-seconds", type=float, default=3.0, help="handshake load under the profiler")
    parser.add_argument("--profile-rows-limit", type=float, default=8.0, help="rows stream under the profiler")
    parser.add_argument("--keep-events", action="store_true", help="keep the stub's rows events (large)")
    return parser.parse_args(argv)
