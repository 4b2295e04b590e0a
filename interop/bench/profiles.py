"""Where the stub misses a target (or always, or never: --profile), the same load again, shorter, against
the stub under pyinstrument (profiled_stub.py); profiling.py reads the session into top functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ..paths import AUTH_DB
from ..stubproc import StubProcess
from . import profiling, rows_stream
from .loadgen import run_handshakes
from .rows import Payload

PYINSTRUMENT = "pyinstrument==5.1.3"  # a bench-time install (nox -s bench), not a dependency of the stub
KINDS = ("handshakes", "rows")


def to_profile(mode: str, ratios: list[dict]) -> list[str]:
    """The kinds to profile: with "auto", those of the stub's ratios that miss their target."""
    if mode == "never":
        return []
    if mode == "always":
        return list(KINDS)
    kinds = []
    for ratio in ratios:
        if ratio["met"] is False and ratio["name"].startswith("stub"):
            kind = "rows" if "rows" in ratio["name"] else "handshakes"
            if kind not in kinds:
                kinds.append(kind)
    return kinds


def profile(kind: str, args, out: Path, jwk: dict, payload: Payload) -> dict:
    """One kind's load against the profiled stub; the session's summary with the figure measured under it."""
    if importlib.util.find_spec("pyinstrument") is None:
        raise RuntimeError(f"pyinstrument is not installed (pip install {PYINSTRUMENT}; nox -s bench installs it)")
    prefix = out / "profile" / kind
    server = StubProcess(AUTH_DB, out / "events" / f"profile-{kind}.jsonl")
    # `python -m server_stub serve ...` becomes `python -m interop.bench.profiled_stub --out P -- serve ...`
    server.cmd = [sys.executable, "-m", "interop.bench.profiled_stub", "--out", str(prefix), "--", *server.cmd[3:]]
    if kind == "handshakes":
        with server:
            load = run_handshakes(server.host, server.port, jwk, args.workers, 0.5, args.profile_seconds,
                                  server.proc.pid)
        figure = f"{load.per_second:,.1f} handshakes/s under the profiler"
    else:
        rows = rows_stream.stub(args, out, jwk, payload, args.profile_rows_limit, server=server)
        figure = f"{rows['per_second']:,.0f} rows/s under the profiler"
    summary = profiling.summarize(prefix.with_suffix(".pyisession"))
    summary.update(measured_under_profiler=figure, text=str(prefix.with_suffix(".txt")),
                   session=str(prefix.with_suffix(".pyisession")))
    print(f"profile {kind}: {figure}; {prefix.with_suffix('.txt')}", flush=True)
    return summary
