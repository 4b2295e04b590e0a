"""`python -m interop [FILTER...]`: build, run every example against the stub, judge, report.

FILTER narrows the run to examples whose id, language or environment matches; `negative` selects
the reference signer's negative matrix (run by default when no filter is given). `--repeat N` runs
the whole matrix N times and reports every cell whose outcome changed (flakes.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import matrix
from .cases import load_cases
from .datafile import DataFileError
from .evidence import load_evidence
from .fixture import load_rows
from .flakes import flake_report
from .paths import DEFAULT_BUILD_DIR
from .progress import RunProgress
from .registry import select_run
from .report import summary_line, table
from .robustness import load_faults
from .schedule import Outcome, run_matrix
from .stubproc import StubError


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    out = args.build_dir / "interop"
    out.mkdir(parents=True, exist_ok=True)
    try:
        registry, clients, run_negative = select_run(args.filters)
        cases = load_cases() if run_negative else []
        faults = None if args.no_faults else load_faults()
        fixture = load_rows()
        rule = load_evidence()
    except DataFileError as error:
        print(f"interop: {error}", file=sys.stderr)
        return 2
    if args.connections is not None:
        rule = rule.fixed(args.connections)
    outcomes = []
    for number in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"\n== run {number} of {args.repeat}", flush=True)
        try:
            with RunProgress() as progress:
                outcome = run_matrix(clients, registry, faults, cases, fixture, rule, args.build_dir.resolve(), out,
                                     progress)
        except (StubError, OSError, RuntimeError) as error:  # a stub that does not start: nothing was judged
            print(f"interop: {error}", file=sys.stderr)
            print(summary_line("interop", 0, 1))
            return 1
        outcomes.append(outcome)
        _report(outcome, rule, out)
    if args.repeat > 1:
        changed, text = flake_report(outcomes)
        print(text)
        failed = sum(o.failed for o in outcomes) + changed
        print(summary_line("interop", sum(o.passed for o in outcomes), failed))
        return 0 if failed == 0 else 1
    return 0 if outcomes[0].failed == 0 else 1


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m interop", description=__doc__.split("\n")[0])
    parser.add_argument("filters", nargs="*", help="example ids, languages, environments, or 'negative'")
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--connections", type=int, metavar="N",
                        help="exactly N connections per example in one run, instead of stopping on evidence "
                             "(evidence.toml)")
    parser.add_argument("--no-faults", action="store_true", help="skip the robustness columns (faults.toml)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run the matrix N times and report every cell whose outcome changed")
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.connections is not None and args.connections < 1):
        parser.error("--repeat and --connections take a positive number")
    return args


def _report(outcome: Outcome, rule, out: Path) -> None:
    """The matrix, the negative matrix and the failures on stdout; report.md and junit.xml; the summary line."""
    clients, faults, cases = outcome.clients, outcome.faults, outcome.cases
    print()
    header, rows = matrix.client_matrix(clients, faults, rule)
    if clients:
        print(table(header, rows))
        print()
        for note in matrix.legend(faults, rule):
            print(note)
        print()
    if cases:
        print(table(matrix.CASE_HEADER, [matrix.case_row(r) for r in cases]))
        print()
    for name, messages in matrix.failures(clients, faults, cases):
        for message in messages:
            print(f"FAIL {name}: {message}\n")
    for message in outcome.setup_failures:
        print(f"FAIL {message}\n")
    summary = f"{outcome.handshakes} handshakes in {outcome.seconds:.1f} s"
    matrix.write_report(out / "report.md", (header, rows), clients, faults, cases, outcome.setup_failures, summary,
                        rule)
    matrix.write_junit_report(out / "junit.xml", clients, faults, cases, outcome.setup_failures)
    print(f"{summary}; report: {out / 'report.md'}, JUnit: {out / 'junit.xml'}")
    print(summary_line("interop", outcome.passed, outcome.failed))
