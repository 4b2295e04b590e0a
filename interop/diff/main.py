"""nox -s diff -- [--cases N] [--seed S] [--class NAME] ...: the differential run (README.md)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..paths import DEFAULT_BUILD_DIR
from .engine import Servers
from .generators import CLASSES, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s diff --", description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000, help="cases in all, half handshakes, half ILP")
    parser.add_argument("--handshakes", type=int, help="handshake cases (default: half of --cases)")
    parser.add_argument("--ilp", type=int, help="ILP cases (default: the other half)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--class", dest="only", choices=sorted(CLASSES), help="only this generator class")
    parser.add_argument("--out", type=Path, default=DEFAULT_BUILD_DIR / "diff")
    args = parser.parse_args(argv)
    handshakes = args.cases // 2 if args.handshakes is None else args.handshakes
    ilp = args.cases - handshakes if args.ilp is None else args.ilp
    cases = generate(handshakes, ilp, args.seed, args.only)
    began = time.monotonic()
    with Servers(args.out) as servers:
        results = servers.judge(cases)
    (args.out / "results.jsonl").write_text("".join(json.dumps(r.as_json()) + "\n" for r in results))
    bad = [r for r in results if not r.agrees]
    for r in bad[:200]:
        print(f"DISAGREE {r.case.cls} {r.case.mutation!r} {r.case.lines[:2]}: {'; '.join(r.differences)}")
    print(f"diff: {len(results) - len(bad)} agree, {len(bad)} disagree in {time.monotonic() - began:.0f} s")
    return 1 if bad else 0
