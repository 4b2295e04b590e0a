"""Every example against a stub that misbehaves on purpose (faults.toml): survives, fails clearly,
hangs or misbehaves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server_stub.faults import FAULTS as STUB_FAULTS
from server_stub.faults import PARAMETERS as FAULT_PARAMETERS
from server_stub.records import Connection

from .cpu_gate import CpuGate
from .datafile import ABSENT, DataFileError, Key, Table, entry_name, load_toml
from .fixture import diff_rows, expected_for, row_fields
from .paths import FAULTS
from .process import Finished
from .registry import Client
from .run_example import CONTRACT_DEFAULT_TIMEOUT_S, run_example
from .shared_stub import SharedStub

SETTLE_TIMEOUT = 2.0  # seconds for the stub to record the close of a fault run's connection
ACCEPTABLE = {"survives", "fails clearly"}
SHORT = {"survives": "ok", "fails clearly": "error", "fails unclearly": "UNCLEAR", "hangs": "HANGS",
         "misbehaves": "MISBEHAVES", "stub failed": "STUB FAILED"}


@dataclass
class FaultResult:
    client: Client
    fault: dict
    outcome: str
    run: Finished | None
    evidence: str = ""

    @property
    def known(self) -> str | None:
        """The outcome clients.toml records for a third-party library under this fault, if any."""
        return self.client.known_faults.get(self.fault["name"])

    @property
    def passed(self) -> bool:
        # A recorded third-party outcome must still happen: a stale record fails too.
        return self.outcome == self.known if self.known else self.outcome in ACCEPTABLE

    @property
    def short(self) -> str:
        return SHORT[self.outcome] + ("*" if self.known and self.passed else "")



FAULT = Table({
    "name": Key(str),  # a fault of the stub (--fault NAME)
    "column": Key(str),  # the matrix column
    "auth_possible": Key(bool),  # whether a handshake can succeed under it (then the rows must arrive)
    "fault_delay": Key(float, ABSENT),  # --fault-delay; absent: the stub's default
    "fault_rows": Key(int, ABSENT),  # --fault-rows; absent: the stub's default
    "varies": Key(str, ABSENT),  # why the column's outcome legitimately differs between runs (its legend says so)
}, label="name")
FILE = Table({
    "example_timeout": Key(float),  # ILP_TIMEOUT_S of the examples under a fault
    "timeout": Key(float),  # seconds per example run, then it is killed (hangs)
    "hang_slack": Key(float),  # seconds a connection may last beyond the fault's delay and one ILP_TIMEOUT_S
    "snippet_timeout": Key(float),  # seconds per documentation snippet under a fault
    "max_error_lines": Key(int),  # a clear error has at most this many lines and no traceback
    "fault": Key(list, each=FAULT),
})


class FaultsError(DataFileError):
    """faults.toml breaks its schema or a rule; the message names the file, the entry and the key."""


def load_faults(path: Path = FAULTS) -> dict:
    """faults.toml, checked: its schema, known fault names, and timeouts that cannot race (the rules
    are written at the top of the file)."""
    spec = load_toml(path, FILE, FaultsError)
    example_timeout, timeout = spec["example_timeout"], spec["timeout"]
    if timeout < CONTRACT_DEFAULT_TIMEOUT_S + 3:
        raise FaultsError(f"{path}: timeout = {timeout}: must be at least the contract's default ILP_TIMEOUT_S + 3 "
                          f"({CONTRACT_DEFAULT_TIMEOUT_S + 3:g}), so that an example ignoring ILP_TIMEOUT_S ends its "
                          "default wait and the stub sees how long it waited")
    for index, fault in enumerate(spec["fault"], 1):
        where = f"{path}: {entry_name('fault', index, fault, 'name')}"
        if fault["name"] not in STUB_FAULTS:
            raise FaultsError(f"{where}: name: not a fault of the stub; known: {', '.join(sorted(STUB_FAULTS))}")
        wait = longest_wait(fault, spec)
        if wait >= CONTRACT_DEFAULT_TIMEOUT_S:
            raise FaultsError(f"{where}: the longest wait allowed ({wait:g} s: delay + example_timeout + hang_slack) "
                              f"must stay below the contract's default ILP_TIMEOUT_S ({CONTRACT_DEFAULT_TIMEOUT_S:g}), "
                              "or an example ignoring ILP_TIMEOUT_S would pass")
        if not _delays(fault):
            continue  # a fault that delays nothing
        delay = fault.get("fault_delay", FAULT_PARAMETERS["fault_delay"].default)  # the stub's default if unset
        if delay > example_timeout / 2:
            raise FaultsError(f"{where}: fault_delay = {delay}: more than half of example_timeout "
                              f"({example_timeout:g}): the example's wait would race the delay")
    return spec


def run_fault(client: Client, fault: dict, spec: dict, stub: SharedStub, jwk: Path, build_dir: Path,
              gate: CpuGate | None = None) -> FaultResult:
    """`client` once (ILP_CONNECTIONS=1) against `stub`, which injects `fault` and may serve other
    examples at the same time: its connections are the ones that named the example's key id. With a
    `gate`, the run holds one of its slots while its process is busy on the CPU (cpu_gate.py)."""
    held = gate.hold() if gate is not None else None
    try:
        run = run_example(client, build_dir, stub.host, stub.port, jwk, 1, timeout=spec["timeout"],
                          example_timeout=spec["example_timeout"], tls_ca=stub.tls_ca,
                          started=held.started if held is not None else None)
    finally:
        if held is not None:
            held.release()
    conns = stub.settle(client.id, 1, SETTLE_TIMEOUT)
    outcome, evidence = classify(run.exit_code, run.stderr, run.describe(), conns, fault, spec["max_error_lines"],
                                 expected_for(client), longest_wait(fault, spec), client.defect)
    return FaultResult(client, fault, outcome, run, evidence)


def longest_wait(fault: dict, spec: dict) -> float:
    """The longest a connection of a bounded example may last under `fault`, on the stub's clock: what the
    fault holds back (its delay), one wait of ILP_TIMEOUT_S, and `hang_slack`. Measured at the stub, from
    the accept, it leaves out the process's start-up, which a loaded machine stretches."""
    delay = fault.get("fault_delay", FAULT_PARAMETERS["fault_delay"].default) if _delays(fault) else 0.0
    return delay + spec["example_timeout"] + spec["hang_slack"]


def _delays(fault: dict) -> bool:
    return "fault_delay" in STUB_FAULTS[fault["name"]].parameters


def fault_config(fault: dict) -> dict:
    """The run_stub keyword arguments that start a stub with this fault."""
    return {"fault": fault["name"], **{k: fault[k] for k in ("fault_delay", "fault_rows") if k in fault}}


def classify(exit_code: int | None, stderr: str, description: str, conns: dict[int, Connection], fault: dict,
             max_error_lines: int, rows: list[dict] | None, longest: float | None = None,
             defect: str | None = None) -> tuple[str, str]:
    """The outcome of one run under a fault; `rows`, when known, must arrive intact on success; `longest`,
    when given, bounds how long a connection may last (longest_wait); `defect`, an anti-example's reason
    code: a handshake it rejects is the anti-example's own doing (1 in 128), not the fault's."""
    auths = [c.auth for c in conns.values() if c.auth is not None]
    early = [a for a in auths if a.get("bytes_before_challenge")]
    if early:
        return "misbehaves", f"sent {early[0]['bytes_before_challenge']} bytes before the whole challenge arrived"
    if exit_code is None:
        return "hangs", description
    lasted = [(n, c.close["seconds"]) for n, c in sorted(conns.items()) if c.close and "seconds" in c.close]
    too_long = [(n, seconds) for n, seconds in lasted if longest is not None and seconds > longest]
    if too_long:
        n, seconds = too_long[0]
        return "hangs", (f"connection {n} lasted {seconds:.1f} s on the stub's clock, more than the fault's delay, one "
                         f"wait of ILP_TIMEOUT_S and the slack ({longest:g} s): a wait the example did not bound\n"
                         + description)
    if exit_code == 0:
        if fault["auth_possible"]:
            accepted = [c for c in conns.values() if c.accepted]
            if not accepted and defect and any((c.auth or {}).get("reason_code") == defect for c in conns.values()):
                return "survives", f"its handshake was rejected for its own defect ({defect}), as expected"
            if not accepted:
                return "misbehaves", "exited 0 but the stub never accepted its handshake"
            got = [row_fields(e) for e in accepted[0].rows]
            problems = diff_rows(rows, got) if rows is not None else ([] if got else ["no row arrived"])
            if problems:
                return "misbehaves", "exited 0 but rows were lost or altered: " + "; ".join(problems[:3])
        return "survives", ""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if lines and len(lines) <= max_error_lines and "Traceback" not in stderr:
        return "fails clearly", lines[-1]
    return "fails unclearly", description
