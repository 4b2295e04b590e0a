"""`python -m interop [FILTER...]`: build, run every example against the stub, judge, report.

FILTER narrows the run to examples whose id, language or environment matches; `negative` selects
the reference signer's negative matrix (run by default when no filter is given).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from server_stub.records import by_connection, by_peer

from . import matrix
from .build import build_for
from .cases import load_cases
from .datafile import DataFileError
from .fixture import expected_for, load_rows
from .judge import CaseResult, ClientResult, judge_case, judge_client
from .paths import AUTH_DB, DEFAULT_BUILD_DIR, private_key_copies
from .refsigner import run_case
from .registry import select_run
from .report import summary_line, table
from .robustness import load_faults, run_faults
from .run_example import run_example
from .stubproc import StubError, StubProcess

# (127/128)^1800 = 7.4e-7: a 1-in-128 defect is missed with probability below 1e-6.
RAW_CONNECTIONS = 1800
LIBRARY_CONNECTIONS = 200


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    out = args.build_dir / "interop"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        registry, clients, run_negative = select_run(args.filters)
        cases = load_cases() if run_negative else []
        faults = None if args.no_faults else load_faults()
        fixture = load_rows()
    except DataFileError as error:
        print(f"interop: {error}", file=sys.stderr)
        return 2
    keys = private_key_copies(out / "keys")

    built = build_for(clients, registry, args.build_dir.resolve())
    setup_failures = [f"build of environment {name} failed:\n{r.failure}" for name, r in built.items() if not r.ok]

    client_results: list[ClientResult] = []
    for client in clients:
        if not built[client.environment].ok:
            continue
        connections = args.raw_connections if client.sends_raw_signature else args.library_connections
        print(f"run {client.id}: {connections} connections ...", flush=True)
        try:
            client_results.append(_run_client(client, connections, keys, out, args.build_dir.resolve()))
        except StubError as error:
            setup_failures.append(f"{client.id}: {error}")

    fault_results = []
    if client_results and faults:
        ran = [r.client for r in client_results]
        print(f"run faults: {len(ran)} examples x each fault of faults.toml ...", flush=True)
        fault_results = run_faults(ran, faults, AUTH_DB, keys, args.build_dir.resolve(), out)

    case_results: list[CaseResult] = []
    if run_negative:
        try:
            case_results = _run_negative(cases, keys, fixture, out)
        except StubError as error:
            setup_failures.append(f"negative matrix: {error}")

    return _report(client_results, fault_results, case_results, setup_failures, out, time.perf_counter() - started)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m interop", description=__doc__.split("\n")[0])
    parser.add_argument("filters", nargs="*", help="example ids, languages, environments, or 'negative'")
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--raw-connections", type=int, default=RAW_CONNECTIONS,
                        help="connections for examples that send raw r||s (default %(default)s)")
    parser.add_argument("--library-connections", type=int, default=LIBRARY_CONNECTIONS,
                        help="connections for library examples that send DER (default %(default)s)")
    parser.add_argument("--no-faults", action="store_true", help="skip the robustness columns (faults.toml)")
    return parser.parse_args(argv)


def _run_client(client, connections, keys, out: Path, build_dir: Path) -> ClientResult:
    events_path = out / "events" / f"{client.id}.jsonl"
    with StubProcess(AUTH_DB, events_path, tls=client.tls) as stub:
        run = run_example(client, build_dir, stub.host, stub.port, keys[client.key], connections,
                          timeout=60 + 0.1 * connections, tls_ca=stub.tls_ca)
    return judge_client(client, connections, run, stub.events(), expected_for(client))


def _run_negative(cases: list[dict], keys, fixture, out: Path) -> list[CaseResult]:
    from server_stub.keys import load_jwk

    jwks = {kid: load_jwk(path) for kid, path in keys.items()}
    lines = [row["ilp"] for row in fixture]
    observations = []
    print(f"run negative matrix: {len(cases)} cases ...", flush=True)
    with StubProcess(AUTH_DB, out / "events" / "negative.jsonl") as stub:
        for case in cases:
            observations.append(run_case(stub.host, stub.port, jwks, case, lines))
    conns = by_peer(by_connection(stub.events()))
    return [judge_case(case, wire, conns.get(wire.local_peer), len(lines))
            for case, wire in zip(cases, observations, strict=True)]


def _report(clients, faults, cases, setup_failures, out: Path, seconds: float) -> int:
    passed = sum(r.passed for r in clients) + sum(r.passed for r in cases) + sum(r.passed for r in faults)
    failed = len(clients) + len(cases) + len(faults) - passed + len(setup_failures)
    handshakes = sum(r.handshakes for r in clients) + len(cases)
    print()
    header, rows = matrix.client_matrix(clients, faults)
    if clients:
        print(table(header, rows))
        print()
    if cases:
        print(table(matrix.CASE_HEADER, [matrix.case_row(r) for r in cases]))
        print()
    for name, messages in matrix.failures(clients, faults, cases):
        for message in messages:
            print(f"FAIL {name}: {message}\n")
    for message in setup_failures:
        print(f"FAIL {message}\n")
    summary = f"{handshakes} handshakes in {seconds:.1f} s"
    matrix.write_report(out / "report.md", (header, rows), clients, faults, cases, setup_failures, summary)
    matrix.write_junit_report(out / "junit.xml", clients, faults, cases, setup_failures)
    print(f"{summary}; report: {out / 'report.md'}, JUnit: {out / 'junit.xml'}")
    print(summary_line("interop", passed, failed))
    return 0 if failed == 0 else 1
