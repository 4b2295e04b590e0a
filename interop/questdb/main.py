"""`python -m interop.questdb [FILTER...]`: the negative matrix and the examples against the real
QuestDB server and against the stub, side by side, as a parity table (nox -s questdb)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ..build import build_for
from ..cases import load_cases
from ..datafile import DataFileError
from ..paths import AUTH_DB, DEFAULT_BUILD_DIR, SCHEMA, private_key_copies
from ..registry import select_run
from ..report import markdown_table, summary_line, table, write_markdown
from .launcher import QuestDBError, QuestDBProcess
from .parity import ALLOWED_CONVERSIONS, cases_parity, create_declared_tables, example_parity

HEADER = ["kind", "name", "stub", "QuestDB", "values read back", "agree"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.questdb", description=__doc__.split("\n")[0])
    parser.add_argument("filters", nargs="*", help="example ids, languages, environments, or 'negative'")
    parser.add_argument("--connections", type=int, default=20, help="connections per example (default %(default)s)")
    parser.add_argument("--defect-connections", type=int, default=1800,
                        help="connections for an anti-example, so its 1-in-128 defect shows (default %(default)s)")
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = args.build_dir.resolve() / "questdb"
    out.mkdir(parents=True, exist_ok=True)
    try:
        registry, clients, run_negative = select_run(args.filters)
        # Open-source QuestDB has no TLS on its ILP port: the TLS variants are checked against the stub alone.
        tls_only = [c.id for c in clients if c.tls]
        clients = [c for c in clients if not c.tls]
        cases = load_cases() if run_negative else []
    except DataFileError as error:
        print(f"questdb: {error}", file=sys.stderr)
        return 2
    if tls_only:
        print(f"questdb: not against QuestDB (no TLS on its ILP port; checked against the stub alone): "
              f"{', '.join(tls_only)}", flush=True)
    keys = private_key_copies(out / "keys")
    for name, built in build_for(clients, registry, args.build_dir.resolve()).items():
        if not built.ok:
            print(f"questdb: build of {name} failed:\n{built.failure}", file=sys.stderr)
            return 1

    results, declared = [], {}
    try:
        with QuestDBProcess(AUTH_DB, out / "log") as questdb:
            print(f"questdb: QuestDB {questdb.version} up in {questdb.startup_seconds:.1f} s "
                  f"(ILP {questdb.ilp_port}, HTTP {questdb.http_port})", flush=True)
            if cases:
                results += cases_parity(cases, keys, AUTH_DB, out, questdb)
            if clients:  # the stub starts with them too (--schema): decimals need their columns beforehand
                declared = create_declared_tables(questdb)
                print(f"questdb: created {', '.join(declared)} ({SCHEMA.name})", flush=True)
            for client in clients:
                n = args.defect_connections if client.expect == "defective" else args.connections
                print(f"questdb: {client.id} ({n} connections) ...", flush=True)
                results.append(example_parity(client, n, keys, AUTH_DB, args.build_dir.resolve(), out, questdb,
                                              declared))
            version = questdb.version
    except QuestDBError as error:
        print(f"questdb: {error}", file=sys.stderr)
        print(summary_line("questdb", 0, 1))
        return 1

    rows = [[r.kind, r.name, _side(r.stub), _side(r.questdb), _values(r), "yes" if r.agree else "NO"]
            for r in results]
    seconds = time.perf_counter() - started
    print()
    print(table(HEADER, rows))
    for r in results:
        for problem in r.problems:
            print(f"  {r.name}: {problem}")
    summary = f"QuestDB {version}, {len(results)} comparisons in {seconds:.0f} s"
    problems = [f"- {r.name}: {p}" for r in results for p in r.problems]
    created = [f"- {t}: " + ", ".join(f"{c} {kind}" for c, kind in columns.items()) for t, columns in declared.items()]
    write_markdown(out / "parity.md", "Stub and QuestDB side by side", summary, [
        markdown_table(HEADER, rows), "Conversions allowed when rows are read back from QuestDB:",
        "\n".join(f"- {c}" for c in ALLOWED_CONVERSIONS),
        *([(f"Tables created in both servers before the examples ({SCHEMA.name}; the designated timestamp "
           "`timestamp` besides):"), "\n".join(created)] if created else []),
        *(["\n".join(problems)] if problems else [])])
    (out / "parity.json").write_text(json.dumps({"questdb": version, "seconds": round(seconds, 1),
                                                 "declared_tables": declared,
                                                 "results": [asdict(r) for r in results]}, indent=1))
    agree = sum(r.agree for r in results)
    print(f"\n{summary}; logs and parity.md in {out}")
    print(summary_line("questdb", agree, len(results) - agree))
    return 0 if agree == len(results) else 1


def _values(result) -> str:
    """"31 equal: 3 array, 2 decimal, ..." (the values of the first stored row of each table), or how many differ."""
    if result.kind != "example":
        return "-"
    total = sum(result.values.values())
    if not total:
        return "not read (no row stored)"
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.values.items()))
    verdict = f"{len(result.problems)} of {total} differ" if result.problems else f"{total} equal"
    return f"{verdict}: {kinds}"


def _side(side) -> str:
    if isinstance(side.accepted, str):
        return f"{side.accepted} ({side.detail})"
    if side.closes is None:
        return f"{side.accepted} accepted, {side.rows} rows"
    verdict = "accepted" if side.accepted else "rejected"
    wire = "closes" if side.closes else "stays open"
    return f"{verdict}, {wire}, {side.rows} rows ({side.detail})"
