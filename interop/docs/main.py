"""`python -m interop.docs [PAGE...]`: run the snippets of documentation pages against the stub.

Without pages it checks ../shared/docs-pages beside the repository (or $ILP_SHARED_DIR/docs-pages),
and says so and stops when that folder is absent. A snippet's expectation (interop/docs_expectations.toml
by default) is found by its heading, language and content; a verdict must equal its expectation, in either
direction, and a failing verdict without one fails the run. SKIPPED blocks are counted apart. The run ends
`docs: N passed, N failed, N skipped`. --update-expectations writes this run's verdicts into the file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from server_stub import run_stub

from ..datafile import DataFileError
from ..paths import AUTH_DB, DEFAULT_BUILD_DIR, DEFAULT_JWK, DOCS_EXPECTATIONS, REPO
from ..report import summary_line
from ..robustness import load_faults
from . import report, update
from .clients.java import java_truststore
from .data import FAILURES, conf_keys, dependencies, load_expectations, load_substitutions
from .extract import extract_page
from .faults import run_snippet_faults
from .runner import DOCUMENTED_PORT, Context, check_page, documented_port_is_free, load_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.docs", description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="pages: Markdown/MDX, reStructuredText, READMEs, source files (default: ../shared/docs-pages/*)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of repetition per client snippet")
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
        for load in (load_substitutions, dependencies, conf_keys, load_faults):
            load()
    except DataFileError as error:
        print(f"docs: {error}", file=sys.stderr)
        return 2
    out = args.build_dir.resolve() / "docs"
    _fresh_work_folder(out / "work")
    started = time.perf_counter()

    free = documented_port_is_free()
    port_config = {"port": DOCUMENTED_PORT, "also_hosts": ("::1",)} if free else {"port": 0}
    with run_stub(AUTH_DB, **port_config) as stub, run_stub(AUTH_DB, tls=True, tls_dir=str(out / "tls")) as tls_stub:
        print(f"docs: stub on port {stub.port}" + ("" if free else " (9009 is busy: ports in snippets are substituted)")
              + f", its TLS twin on port {tls_stub.port} (CA {tls_stub.tls_ca})")
        ctx = Context(stub, load_key(DEFAULT_JWK), out / "work", args.budget, port_moved=not free, tls_stub=tls_stub,
                      java_truststore=_java_truststore(tls_stub.tls_ca, out / "java-truststore"))
        results = []
        for path in pages:
            page = extract_page(path)
            for note in page.notes:  # what the extraction could not read, and where snippets came from
                print(f"docs: {page.name}: {note}")
            results.append(check_page(page, ctx))
        # the fault runs of a TLS snippet: a TLS stub on the port and with the certificate its code names
        tls_config = {"port": tls_stub.port, "tls": True, "tls_cert": str(out / "tls" / "server.pem"),
                      "tls_key": str(out / "tls" / "server.key")}
    fault_rows, fault_columns, fault_notes = ([], [], []) if args.no_faults else \
        run_snippet_faults(results, AUTH_DB, port_config, tls_config)

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
    summary = f"{len(pages)} pages, {len(lines)} verdicts ({expected_failures} expected failures) in {time.perf_counter() - started:.0f} s (budget {args.budget:g} s per client snippet)"
    print()
    print(report.verdict_table(lines))
    print()
    print(report.details(lines))
    print()
    robustness = ""
    if fault_rows:
        robustness = report.robustness(fault_rows, fault_columns, fault_notes)
        print(robustness)
        print()
    report.write_report(out / "report.md", lines, summary, robustness)
    report.write_junit_report(out / "junit.xml", lines)
    print(f"{summary}; report: {out / 'report.md'}, JUnit: {out / 'junit.xml'}")
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
