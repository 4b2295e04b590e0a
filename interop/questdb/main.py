"""`python -m interop.questdb [FILTER...]`: the negative matrix and the examples against the real
QuestDB server and against the stub, side by side, as a parity table (nox -s questdb)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ..build import REPO, build_environment
from ..main import AUTH_DB, _private_copies
from ..registry import RegistryError, load_registry, select_run
from ..report import markdown, table
from .launcher import QuestDBError, QuestDBProcess
from .parity import ALLOWED_CONVERSIONS, cases_parity, example_parity

HEADER = ["kind", "name", "stub", "QuestDB", "agree"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.questdb", description=__doc__.split("\n")[0])
    parser.add_argument("filters", nargs="*", help="example ids, languages, environments, or 'negative'")
    parser.add_argument("--connections", type=int, default=20, help="connections per example (default %(default)s)")
    parser.add_argument("--defect-connections", type=int, default=1800,
                        help="connections for an anti-example, so its 1-in-128 defect shows (default %(default)s)")
    parser.add_argument("--build-dir", type=Path, default=REPO / "build")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = args.build_dir.resolve() / "questdb"
    out.mkdir(parents=True, exist_ok=True)
    try:
        registry = load_registry()
        clients, run_negative = select_run(args.filters)
    except RegistryError as error:
        print(f"questdb: {error}", file=sys.stderr)
        return 2
    keys = _private_copies(out / "keys")
    for name in sorted({c.environment for c in clients}):
        built = build_environment(registry.environments[name], args.build_dir.resolve())
        if not built.ok:
            print(f"questdb: build of {name} failed:\n{built.failure}", file=sys.stderr)
            return 1

    results = []
    try:
        with QuestDBProcess(AUTH_DB, out / "log") as questdb:
            print(f"questdb: QuestDB {questdb.version} up in {questdb.startup_seconds:.1f} s "
                  f"(ILP {questdb.ilp_port}, HTTP {questdb.http_port})", flush=True)
            if run_negative:
                results += cases_parity(keys, AUTH_DB, out, questdb)
            for client in clients:
                n = args.defect_connections if client.expect == "defective" else args.connections
                print(f"questdb: {client.id} ({n} connections) ...", flush=True)
                results.append(example_parity(client, n, keys, AUTH_DB, args.build_dir.resolve(), out, questdb))
            version = questdb.version
    except QuestDBError as error:
        print(f"questdb: {error}", file=sys.stderr)
        print("questdb: 0 passed, 1 failed")
        return 1

    rows = [[r.kind, r.name, _side(r.stub), _side(r.questdb), "yes" if r.agree else "NO"] for r in results]
    seconds = time.perf_counter() - started
    print()
    print(table(HEADER, rows))
    for r in results:
        for problem in r.problems:
            print(f"  {r.name}: {problem}")
    summary = f"QuestDB {version}, {len(results)} comparisons in {seconds:.0f} s"
    (out / "parity.md").write_text("\n".join([
        "# Stub and QuestDB side by side", "", summary, "", markdown(HEADER, rows), "",
        "Conversions allowed when rows are read back from QuestDB:", "",
        *[f"- {c}" for c in ALLOWED_CONVERSIONS], "",
        *[f"- {r.name}: {p}" for r in results for p in r.problems]]) + "\n", encoding="utf-8")
    (out / "parity.json").write_text(json.dumps({"questdb": version, "seconds": round(seconds, 1),
                                                 "results": [asdict(r) for r in results]}, indent=1))
    agree = sum(r.agree for r in results)
    print(f"\n{summary}; logs and parity.md in {out}")
    print(f"questdb: {agree} passed, {len(results) - agree} failed")
    return 0 if agree == len(results) else 1


def _side(side) -> str:
    if isinstance(side.accepted, str):
        return f"{side.accepted} ({side.detail})"
    if side.closes is None:
        return f"{side.accepted} accepted, {side.rows} rows"
    verdict = "accepted" if side.accepted else "rejected"
    wire = "closes" if side.closes else "stays open"
    return f"{verdict}, {wire}, {side.rows} rows ({side.detail})"
