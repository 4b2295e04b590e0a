"""nox -s diff -- [--cases N] [--seed S] [--class NAME] [--record] [--replay]: the differential run.

Generated cases against the pinned QuestDB and the stub (engine.py); the agreement table per class is
written to OUT/agreement.json and OUT/agreement.md, every case to OUT/results.jsonl. Exit 1 on any
disagreement or flaky case. --record writes the ground truth the test command replays (ground_truth.py);
--replay plays that file against the stub alone, without QuestDB.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from ..paths import DEFAULT_BUILD_DIR
from . import ground_truth, report
from .compare import differences
from .engine import Result, Servers
from .generators import CLASSES, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s diff --", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="cases in all, half handshakes, half ILP")
    parser.add_argument("--handshakes", type=int, help="handshake cases (default: half of --cases)")
    parser.add_argument("--ilp", type=int, help="ILP cases (default: the rest of --cases)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--class", dest="only", choices=sorted(CLASSES), help="only this generator class")
    parser.add_argument("--minimise", type=int, default=20, metavar="N",
                        help="minimise up to N disagreeing ILP lines (default 20; 0: none)")
    parser.add_argument("--record", action="store_true",
                        help=f"record QuestDB's outcomes into {ground_truth.PATH.name}: seed "
                             f"{ground_truth.RECORD_SEED}, {ground_truth.RECORD_HANDSHAKES} handshakes and "
                             f"{ground_truth.RECORD_ILP} ILP cases (other counts and seed ignored)")
    parser.add_argument("--replay", type=Path, nargs="?", const=ground_truth.PATH,
                        help="play a recorded ground truth against the stub only")
    parser.add_argument("--out", type=Path, default=DEFAULT_BUILD_DIR / "diff")
    args = parser.parse_args(argv)
    command = "nox -s diff -- " + shlex.join(argv if argv is not None else sys.argv[1:])
    began = time.monotonic()
    if args.replay is not None:
        results, header = replay(args.replay, args.out), {"questdb": "(recorded)"}
    else:
        if args.record:
            args.seed, args.only = ground_truth.RECORD_SEED, None
            args.handshakes, args.ilp = ground_truth.RECORD_HANDSHAKES, ground_truth.RECORD_ILP
        handshakes = args.cases // 2 if args.handshakes is None else args.handshakes
        ilp = args.cases - handshakes if args.ilp is None else args.ilp
        cases = generate(handshakes, ilp, args.seed, args.only)
        with Servers(args.out) as servers:
            results = servers.judge(cases)
            servers.minimise(results, args.minimise)
            version = servers.questdb.version
        header = {"seed": args.seed, "handshakes": handshakes, "ilp": ilp, "questdb": version}
        if args.record:
            kept = ground_truth.write(ground_truth.PATH, {**header, "command": command}, results)
            print(f"diff: recorded {kept} cases into {ground_truth.PATH}")
    with (args.out / "results.jsonl").open("w") as out:
        out.writelines(json.dumps(r.as_json()) + "\n" for r in results)
    print(report.write(results, args.out, {**header, "command": command}))
    for d in report.disagreements(results):
        print(f"{d['verdict'].upper()} {d['class']} {d['mutation']!r}: {'; '.join(d['differences'][:3])}")
    counts = {v: sum(1 for r in results if r.verdict == v) for v in report.VERDICTS}
    print(f"diff: {counts['agree']} agree, {counts['deviation']} deviations, {counts['disagree']} disagree, "
          f"{counts['flaky']} flaky in {time.monotonic() - began:.0f} s (results in {args.out})")
    return 1 if counts["disagree"] or counts["flaky"] else 0


def replay(path: Path, out_dir: Path) -> list[Result]:
    """The recorded cases against the stub alone; each judged against QuestDB's recorded outcome."""
    _, recorded = ground_truth.load(path)
    with Servers(out_dir, questdb=False) as servers:
        stub = servers.on_stub([case for case, _ in recorded])
    return [Result(case, questdb, stub[case.id], differences(questdb, stub[case.id])) for case, questdb in recorded]
