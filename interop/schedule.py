"""One run of the matrix, overlapped within the machine's cores.

- One stub per column, each serving every example of that column at once: plain, TLS, and one per
  fault (and per fault with TLS, for the TLS lines). Connections are told apart by key id
  (example_keys.py, shared_stub.py).
- Builds run BUILD_WORKERS at a time; as soon as an environment is built, its examples (in batches
  until the evidence is in, batches.py) and their fault runs (robustness.py) are queued.
- Examples run EXAMPLE_WORKERS at a time (they keep the cores busy: client and stub both sign or
  verify); fault runs FAULT_WORKERS at a time (most of their time is spent waiting on a delayed or
  missing challenge, or on a timeout).
- The negative matrix plays in this thread meanwhile, against a stub of its own.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from server_stub.keys import load_jwk
from server_stub.records import by_peer

from .batches import BATCH_NICENESS, run_until_evidence
from .build import build_environment
from .cpu_gate import CpuGate
from .evidence import Rule
from .example_keys import write_example_keys
from .fixture import expected_for
from .judge import CaseResult, ClientResult, judge_case
from .paths import private_key_copies
from .progress import RunProgress
from .refsigner import run_case
from .registry import Client, Registry
from .robustness import FaultResult, fault_config, run_fault
from .shared_stub import SharedStub

CORES = os.cpu_count() or 2
BUILD_WORKERS = 3  # the two long compiles (cargo, go) at once, and the short builds one after another beside them
EXAMPLE_WORKERS = CORES + 1
FAULT_WORKERS = 6 * CORES
FAULT_CPU_SLOTS = CORES  # fault runs busy on the CPU at once (cpu_gate.py); the others wait on the stub
DURATIONS = "durations.json"  # in the run's folder: each example's and build's seconds last time, to start the longest first
NEGATIVE_SETTLE = 5.0  # seconds for the stub to record the close of the negative cases' connections


@dataclass
class Outcome:
    """Everything one run of the matrix found, in registry order."""

    clients: list[ClientResult] = field(default_factory=list)
    faults: list[FaultResult] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    setup_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def handshakes(self) -> int:
        return sum(r.handshakes for r in self.clients) + len(self.cases)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in [*self.clients, *self.faults, *self.cases])

    @property
    def failed(self) -> int:
        return len(self.clients) + len(self.faults) + len(self.cases) - self.passed + len(self.setup_failures)


def run_matrix(clients: list[Client], registry: Registry, faults: dict | None, cases: list[dict], fixture: list[dict],
               rule: Rule, build_dir: Path, out: Path, progress: RunProgress) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome()
    keys = private_key_copies(out / "keys")
    auth_db, jwks = write_example_keys(clients, keys, out / "keys")
    fault_specs = faults["fault"] if faults else []
    last = _durations(out / DURATIONS)
    stubs = _start_stubs(clients, fault_specs, auth_db, out / "events")
    try:
        with ThreadPoolExecutor(BUILD_WORKERS) as builds, ThreadPoolExecutor(EXAMPLE_WORKERS) as examples, \
                ThreadPoolExecutor(FAULT_WORKERS) as fault_pool:
            progress.phase("examples", len(clients))
            if fault_specs:
                progress.phase("fault runs", len(clients) * len(fault_specs))
            # The longest build first (the last run's time when it built, else the measured cold time).
            names = sorted({c.environment for c in clients},
                           key=lambda n: -max(last.get(f"build {n}", 0), registry.environments[n].cold_seconds))
            building = {builds.submit(build_environment, registry.environments[name], build_dir): name
                        for name in names}
            gate = CpuGate(FAULT_CPU_SLOTS)
            example_jobs: dict[Future, Client] = {}
            fault_jobs: dict[Future, tuple[Client, dict]] = {}

            def example_job(client: Client) -> ClientResult:
                stub = stubs[(None, client.tls)]
                result = run_until_evidence(client, stub, jwks[client.id], rule, build_dir, expected_for(client),
                                            lambda c, tally: progress.batch(c.id, c.encoding, tally, rule))
                progress.finished(client.id)
                progress.step("examples")
                progress.line(_done_line(result, rule))
                return result

            def fault_job(client: Client, fault: dict) -> FaultResult:
                result = run_fault(client, fault, faults, stubs[(fault["name"], client.tls)], jwks[client.id],
                                   build_dir, gate)
                progress.step("fault runs", f"{client.id} under {fault['name']}")
                return result

            for done in as_completed(building):
                name, built = building[done], done.result()
                state = "up to date" if built.cached else ("built" if built.ok else "FAILED")
                progress.line(f"build {name}: {state} ({built.seconds:.1f} s)")
                if built.ok and not built.cached:
                    last[f"build {name}"] = round(built.seconds, 1)
                if not built.ok:
                    outcome.setup_failures.append(f"build of environment {name} failed:\n{built.failure}")
                    continue
                # The longest first (by the last run's times), so that it does not start last and finish alone.
                for client in sorted((c for c in clients if c.environment == name), key=lambda c: -last.get(c.id, 0)):
                    example_jobs[examples.submit(example_job, client)] = client
                    for fault in fault_specs:
                        fault_jobs[fault_pool.submit(fault_job, client, fault)] = (client, fault)
            if cases:
                progress.line(f"run negative matrix: {len(cases)} cases ...")
                outcome.cases = _run_negative(cases, keys, fixture, stubs["negative"])
            by_client = _collect(example_jobs, outcome.setup_failures, lambda c: c.id)
            by_fault = _collect(fault_jobs, outcome.setup_failures, lambda job: f"{job[0].id} under {job[1]['name']}")
    finally:
        for stub in stubs.values():
            stub.stop()
    order = {c.id: i for i, c in enumerate(clients)}
    outcome.clients = sorted(by_client.values(), key=lambda r: order[r.client.id])
    fault_order = {f["name"]: i for i, f in enumerate(fault_specs)}
    outcome.faults = sorted(by_fault.values(), key=lambda r: (order[r.client.id], fault_order[r.fault["name"]]))
    outcome.seconds = time.perf_counter() - started
    (out / DURATIONS).write_text(json.dumps(last | {r.client.id: round(r.seconds, 2) for r in outcome.clients},
                                            indent=1, sort_keys=True))
    return outcome


def _durations(path: Path) -> dict[str, float]:
    """{example id: seconds} of the last run (DURATIONS), or nothing when there is none or it does not read."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, int | float)} if isinstance(data, dict) else {}


def _start_stubs(clients: list[Client], faults: list[dict], auth_db: Path, events: Path
                 ) -> dict[tuple[str | None, bool], SharedStub]:
    """{(fault name or None, tls): its stub} for each column the examples need, and {"negative": its own}:
    the negative matrix finds its connections by the client's address, which a busy stub's other
    connections may have used before (ports are reused)."""
    tls_needs = sorted({c.tls for c in clients})
    stubs: dict = {"negative": SharedStub("negative", auth_db, events / "negative.jsonl")}
    for tls in tls_needs:
        suffix = "-tls" if tls else ""
        # The examples' stub: a process of its own, under nice as their batches are (batches.py), so that
        # its verifying flat out takes neither the cores nor this process's GIL from the fault stubs.
        stubs[(None, tls)] = SharedStub(f"plain{suffix}", auth_db, events / f"examples{suffix}.jsonl", tls=tls,
                                        process=True, niceness=BATCH_NICENESS)
        for fault in faults:
            stubs[(fault["name"], tls)] = SharedStub(f"fault {fault['name']}{suffix}", auth_db,
                                                     events / f"fault-{fault['name']}{suffix}.jsonl", tls=tls,
                                                     **fault_config(fault))
    started = []
    try:
        for stub in stubs.values():
            started.append(stub.start())
    except Exception:
        for stub in started:
            stub.stop()
        raise
    return stubs


def _collect(jobs: dict[Future, object], setup_failures: list[str], name) -> dict[object, object]:
    """{job: its result} for every job that returned; a job that raised is a setup failure with its traceback."""
    results = {}
    for future in as_completed(jobs):
        job = jobs[future]
        try:
            results[name(job)] = future.result()
        except Exception:  # noqa: BLE001 (the harness's own error: reported, the other jobs still count)
            setup_failures.append(f"{name(job)}: the harness failed:\n{traceback.format_exc()}")
    return results


def _run_negative(cases: list[dict], keys: dict, fixture: list[dict], stub: SharedStub) -> list[CaseResult]:
    jwks = {kid: load_jwk(path) for kid, path in keys.items()}
    lines = [row["ilp"] for row in fixture]
    observations = [run_case(stub.host, stub.port, jwks, case, lines) for case in cases]
    peers = {wire.local_peer for wire in observations}
    deadline = time.monotonic() + NEGATIVE_SETTLE
    while True:  # until the stub has recorded the close of every case's connection
        conns = by_peer(stub.all_connections())
        if all(peer in conns and conns[peer].close is not None for peer in peers) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return [judge_case(case, wire, conns.get(wire.local_peer), len(lines))
            for case, wire in zip(cases, observations, strict=True)]


def _done_line(result: ClientResult, rule: Rule) -> str:
    """'done go-raw-p1363: 400 handshakes in 2 runs (2.1 s), stopped on evidence: r<2^248 2, s<2^248 1'."""
    seen = ", ".join(f"{case.shown} {result.tally.seen[case.code]}" for case in rule.relevant(result.client.encoding))
    how = f"stopped on {result.stopped}" if result.stopped else "a run failed"
    verdict = "" if result.passed else " FAILED"
    return (f"done {result.client.id}: {result.handshakes} handshakes in {len(result.runs)} run{'s' if len(result.runs) != 1 else ''} "
            f"({result.seconds:.1f} s), {how}: {seen}{verdict}")
