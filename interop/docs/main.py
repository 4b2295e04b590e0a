"""`python -m interop.docs [PAGE...]`: run the snippets of documentation pages against the stub.

Without pages it checks ../shared/docs-pages beside the repository (or $ILP_SHARED_DIR/docs-pages),
and says so and stops when that folder is absent. A snippet's expectation (interop/docs_expectations.toml
by default) is found by its heading, language and content; a verdict must equal its expectation, in either
direction, and a failing verdict without one fails the run. SKIPPED blocks are counted apart. The run ends
`docs: N passed, N failed, N skipped`. --update-expectations writes this run's verdicts into the file.

Snippets are checked at the same time (schedule.py), each on a stub of its own (seats.py); a client
snippet repeats until the evidence is in, the cap or the budget (stopping.py); the run says last where
its time went (timing.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from ..datafile import DataFileError
from ..evidence import load_evidence
from ..paths import AUTH_DB, DEFAULT_BUILD_DIR, DEFAULT_JWK, DOCS_EXPECTATIONS, REPO
from ..progress import RunProgress
from ..report import summary_line
from ..robustness import load_faults
from . import report, update
from .clients.java import java_truststore
from .data import FAILURES, conf_keys, dependencies, load_expectations, load_substitutions
from .faults import check_snippet_timeout
from .runner import Context, load_key
from .schedule import check_pages
from .seats import DOCUMENTED_PORT, Seats, documented_port_is_free
from .timing import Clock

# Seconds of repetition per client attempt, when the evidence and the cap do not end it first (stopping.py).
# interop/README.md ("The documentation check") gives the measurements behind it.
DEFAULT_BUDGET = 45.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.docs", description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="pages: Markdown/MDX, reStructuredText, READMEs, source files (default: ../shared/docs-pages/*)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                        help="at most this many seconds of repetition per client snippet attempt, when the evidence "
                             "(evidence.toml) or the cap do not stop it first")
    parser.add_argument("--expectations", type=Path, default=DOCS_EXPECTATIONS)
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--update-expectations", action="store_true",
                        help="write this run's verdicts into the expectations file (keeping the whys that still apply)")
    parser.add_argument("--no-faults", action="store_true",
                        help="skip running the snippets that work once more under each fault (reported only)")
    args = parser.parse_args(argv)

    pages = args.pages or _shared_pages()
    if not pages:
        print(f"docs: no page given and no {_shared_folder()} folder: nothing to check (skipped)")
        print(summary_line("docs", 0, 0) + ", 0 skipped")
        return 0
    missing = [p for p in pages if not p.is_file()]
    if missing:
        print(f"docs: no such page: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    try:  # every data file of the check, before any snippet runs
        expectations = load_expectations(args.expectations)
        for load in (load_substitutions, dependencies, conf_keys):
            load()
        faults = load_faults()
        check_snippet_timeout(faults)
        rule = load_evidence()
    except DataFileError as error:
        print(f"docs: {error}", file=sys.stderr)
        return 2
    out = args.build_dir.resolve() / "docs"
    _fresh_work_folder(out / "work")
    clock = Clock()

    free = documented_port_is_free()
    seats = Seats(AUTH_DB, out / "tls", documented=free)
    try:
        with RunProgress() as progress:
            progress.line("docs: a stub of its own for each client snippet; "
                          + (f"port {DOCUMENTED_PORT} for those whose code names no port" if free
                             else f"{DOCUMENTED_PORT} is busy: ports in snippets are substituted")
                          + f"; TLS stubs trust the CA {seats.tls_ca}")
            ctx = Context(seats, load_key(DEFAULT_JWK), out / "work", args.budget,
                          java_truststore=_java_truststore(seats.tls_ca, out / "java-truststore"), rule=rule,
                          clock=clock, progress=progress)
            results, fault_rows = check_pages(pages, ctx, None if args.no_faults else faults)
    finally:
        seats.close()
    fault_columns = [f["column"] for f in faults["fault"]]
    fault_notes = [note for row in fault_rows for note in row.notes]

    if args.update_expectations:
        review = update.write(args.expectations, results, expectations)
        print(f"docs: wrote the verdicts of {len(pages)} pages into {args.expectations}"
              + "".join(f"\n  write the why of {entry}" for entry in review))
        try:
            expectations = load_expectations(args.expectations)
        except DataFileError as error:  # a bug of the writer: say so rather than leave it unnoticed
            print(f"docs: the updated file does not load: {error}", file=sys.stderr)
            return 2
    lines = report.lines_for(results, expectations)
    counts = report.counts(lines)
    expected_failures = sum(ln.status == "passed" and ln.verdict in FAILURES for ln in lines)
    summary = (f"{len(pages)} pages, {len(lines)} verdicts ({expected_failures} expected failures) in {clock.wall:.0f} s "
               f"(repetitions stop on evidence, at {rule.cap} handshakes or after {args.budget:g} s)")
    print()
    print(report.verdict_table(lines))
    print()
    print(report.details(lines))
    print()
    robustness = ""
    if fault_rows:
        robustness = report.robustness([row.cells for row in fault_rows], fault_columns, fault_notes)
        print(robustness)
        print()
    report.write_report(out / "report.md", lines, summary, robustness)
    report.write_junit_report(out / "junit.xml", lines)
    print(f"{summary}; report: {out / 'report.md'}, JUnit: {out / 'junit.xml'}")
    print(f"docs: {clock.line()}")
    print(report.summary_line(lines))
    return 1 if counts["failed"] else 0


def _java_truststore(ca: Path, folder: Path) -> tuple[str, str]:
    """The TLS stub's CA as a PKCS12 store for Java snippets, or ("", "") with a line saying why."""
    try:
        path, password = java_truststore(Path(ca), folder)
    except (OSError, RuntimeError, ValueError) as error:
        print(f"docs: no Java truststore for the TLS stub ({error}): a Java snippet over TLS will fail to trust it")
        return "", ""
    return str(path), password


def _fresh_work_folder(work: Path) -> None:
    """Every run starts from empty snippet folders (a recipe may append to its files); the Python
    virtual environments, one per distribution version, are kept."""
    work.mkdir(parents=True, exist_ok=True)
    for entry in work.iterdir():
        if entry.name != "venvs":
            shutil.rmtree(entry)


def _shared_folder() -> Path:
    return Path(os.environ.get("ILP_SHARED_DIR", REPO.parent / "shared")) / "docs-pages"


def _shared_pages() -> list[Path]:
    folder = _shared_folder()
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
