"""`python -m interop [FILTER...]`: build, run every example against the stub, judge, report.

FILTER narrows the run to examples whose id, language or environment matches; `negative` selects
the reference signer's negative matrix (run by default when no filter is given).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import tomllib
from pathlib import Path

from . import report
from .build import REPO, build_environment
from .fixture import expected_for, load_rows
from .judge import CaseResult, ClientResult, judge_case, judge_client
from .refsigner import run_case
from .registry import RegistryError, load_registry, select_run
from .robustness import run_faults
from .run_example import run_example
from .stubproc import StubError, StubProcess, by_connection

HERE = Path(__file__).resolve().parent
KEYS = HERE / "keys"
AUTH_DB = KEYS / "auth.txt"
CASES = HERE / "negative_cases.toml"
# (127/128)^1800 = 7.4e-7: a 1-in-128 defect is missed with probability below 1e-6.
RAW_CONNECTIONS = 1800
LIBRARY_CONNECTIONS = 200


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    out = args.build_dir / "interop"
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        registry = load_registry()
        clients, run_negative = select_run(args.filters)
    except RegistryError as error:
        print(f"interop: {error}", file=sys.stderr)
        return 2
    keys = _private_copies(out / "keys")
    fixture = load_rows()
    setup_failures: list[str] = []

    built = {}
    for name in sorted({c.environment for c in clients}):
        result = build_environment(registry.environments[name], args.build_dir.resolve())
        built[name] = result
        state = "up to date" if result.cached else ("built" if result.ok else "FAILED")
        print(f"build {name}: {state} ({result.seconds:.1f} s)", flush=True)
        if not result.ok:
            setup_failures.append(f"build of environment {name} failed:\n{result.failure}")

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
    if client_results and not args.no_faults:
        ran = [r.client for r in client_results]
        print(f"run faults: {len(ran)} examples x each fault of faults.toml ...", flush=True)
        fault_results = run_faults(ran, AUTH_DB, keys, args.build_dir.resolve(), out)

    case_results: list[CaseResult] = []
    if run_negative:
        try:
            case_results = _run_negative(keys, fixture, out)
        except StubError as error:
            setup_failures.append(f"negative matrix: {error}")

    return _report(client_results, fault_results, case_results, setup_failures, out, time.perf_counter() - started)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m interop", description=__doc__.split("\n")[0])
    parser.add_argument("filters", nargs="*", help="example ids, languages, environments, or 'negative'")
    parser.add_argument("--build-dir", type=Path, default=REPO / "build")
    parser.add_argument("--raw-connections", type=int, default=RAW_CONNECTIONS,
                        help="connections for examples that send raw r||s (default %(default)s)")
    parser.add_argument("--library-connections", type=int, default=LIBRARY_CONNECTIONS,
                        help="connections for library examples that send DER (default %(default)s)")
    parser.add_argument("--no-faults", action="store_true", help="skip the robustness columns (faults.toml)")
    return parser.parse_args(argv)


def _private_copies(folder: Path) -> dict[str, Path]:
    """The test keys copied with mode 0600 (they are private keys, even if public test vectors)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = {}
    for source in sorted(KEYS.glob("*.jwk.json")):
        target = folder / source.name
        target.unlink(missing_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o600)
        copies[source.name.removesuffix(".jwk.json")] = target
    return copies


def _run_client(client, connections, keys, out: Path, build_dir: Path) -> ClientResult:
    events_path = out / "events" / f"{client.id}.jsonl"
    with StubProcess(AUTH_DB, events_path) as stub:
        run = run_example(client, build_dir, stub.host, stub.port, keys[client.key], connections,
                          timeout=60 + 0.1 * connections)
    return judge_client(client, connections, run, stub.events(), expected_for(client))


def _run_negative(keys, fixture, out: Path) -> list[CaseResult]:
    from server_stub.keys import load_jwk

    cases = tomllib.loads(CASES.read_text("utf-8"))["case"]
    jwks = {kid: load_jwk(path) for kid, path in keys.items()}
    lines = [row["ilp"] for row in fixture]
    observations = []
    print(f"run negative matrix: {len(cases)} cases ...", flush=True)
    with StubProcess(AUTH_DB, out / "events" / "negative.jsonl") as stub:
        for case in cases:
            observations.append(run_case(stub.host, stub.port, jwks, case, lines))
    events = stub.events()
    conn_by_peer = {e["peer"]: e["conn"] for e in events if e["event"] == "connect"}
    grouped = by_connection(events)
    return [judge_case(case, wire, grouped.get(conn_by_peer.get(wire.local_peer)), len(lines))
            for case, wire in zip(cases, observations, strict=True)]


def _report(clients, faults, cases, setup_failures, out: Path, seconds: float) -> int:
    passed = sum(r.passed for r in clients) + sum(r.passed for r in cases) + sum(r.passed for r in faults)
    failed = len(clients) + len(cases) + len(faults) - passed + len(setup_failures)
    handshakes = sum(r.handshakes for r in clients) + len(cases)
    print()
    header, rows = report.client_matrix(clients, faults)
    if clients:
        print(report.table(header, rows))
        print()
    if cases:
        print(report.table(report.CASE_HEADER, [report.case_row(r) for r in cases]))
        print()
    for r in clients:
        for message in r.failures:
            print(f"FAIL {r.client.id}: {message}\n")
    for r in cases:
        for message in r.failures:
            print(f"FAIL negative/{r.case['id']}: {message}\n")
    for r in faults:
        if not r.passed:
            print(f"FAIL {r.client.id} under fault {r.fault['name']}: {r.outcome}: {r.evidence}\n")
    for message in setup_failures:
        print(f"FAIL {message}\n")
    summary = f"{handshakes} handshakes in {seconds:.1f} s"
    report.write_markdown(out / "report.md", (header, rows), clients, faults, cases, setup_failures, summary)
    report.write_junit(out / "junit.xml", clients, faults, cases, setup_failures)
    print(f"{summary}; report: {out / 'report.md'}, JUnit: {out / 'junit.xml'}")
    print(f"interop: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
