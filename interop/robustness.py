"""Every example against a stub that misbehaves on purpose (faults.toml): survives, fails clearly,
hangs or misbehaves."""

from __future__ import annotations

import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .fixture import ROWS, diff_rows, expected_rows, load_rows
from .registry import Client
from .run_example import RunResult, run_example
from .stubproc import StubProcess, by_connection

FAULTS = Path(__file__).resolve().parent / "faults.toml"
ACCEPTABLE = {"survives", "fails clearly"}
SHORT = {"survives": "ok", "fails clearly": "error", "fails unclearly": "UNCLEAR", "hangs": "HANGS",
         "misbehaves": "MISBEHAVES", "stub failed": "STUB FAILED"}


@dataclass
class FaultResult:
    client: Client
    fault: dict
    outcome: str
    run: RunResult | None
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


def load_faults(path: Path = FAULTS) -> dict:
    return tomllib.loads(path.read_text("utf-8"))


def run_faults(clients: list[Client], auth_db: Path, keys: dict, build_dir: Path, out: Path,
               workers: int = 4) -> list[FaultResult]:
    """Each client once under each fault, `workers` runs at a time (most of them wait on timeouts)."""
    spec = load_faults()
    jobs = [(client, fault) for client in clients for fault in spec["fault"]]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda job: _one(*job, spec, auth_db, keys, build_dir, out), jobs))


def _one(client: Client, fault: dict, spec: dict, auth_db: Path, keys: dict, build_dir: Path,
         out: Path) -> FaultResult:
    events_path = out / "faults" / f"{client.id}--{fault['name']}.jsonl"
    try:
        with StubProcess(auth_db, events_path, *fault_arguments(fault)) as stub:
            run = run_example(client.run, build_dir, stub.host, stub.port, keys[client.key], ROWS, 1,
                              timeout=spec["timeout"])
    except Exception as error:  # noqa: BLE001 (reported as the outcome, with the reason)
        return FaultResult(client, fault, "stub failed", None, str(error))
    conns = by_connection(stub.events())
    outcome, evidence = classify(run.exit_code, run.stderr, run.describe(), conns, fault, spec["max_error_lines"],
                                 expected_rows(load_rows(), client.omit_rows, client.omit_columns))
    return FaultResult(client, fault, outcome, run, evidence)


def fault_arguments(fault: dict) -> list[str]:
    """The `serve` arguments that start a stub with this fault."""
    words = ["--fault", fault["name"]]
    for key in ("fault_delay", "fault_rows"):
        if key in fault:
            words += ["--" + key.replace("_", "-"), str(fault[key])]
    return words


def fault_config(fault: dict) -> dict:
    """The same as run_stub keyword arguments."""
    return {"fault": fault["name"], **{k: fault[k] for k in ("fault_delay", "fault_rows") if k in fault}}


def classify(exit_code: int | None, stderr: str, description: str, conns: dict, fault: dict, max_error_lines: int,
             rows: list[dict] | None) -> tuple[str, str]:
    """The outcome of one run under a fault; `rows`, when known, must arrive intact on success."""
    auths = [c["auth"] for c in conns.values() if "auth" in c]
    early = [a for a in auths if a.get("bytes_before_challenge")]
    if early:
        return "misbehaves", f"sent {early[0]['bytes_before_challenge']} bytes before the whole challenge arrived"
    if exit_code is None:
        return "hangs", description
    if exit_code == 0:
        if fault["auth_possible"]:
            accepted = [c for c in conns.values() if c.get("auth", {}).get("accepted")]
            if not accepted:
                return "misbehaves", "exited 0 but the stub never accepted its handshake"
            got = [{k: e[k] for k in ("table", "symbols", "columns", "timestamp")} for e in accepted[0]["rows"]]
            problems = diff_rows(rows, got) if rows is not None else ([] if got else ["no row arrived"])
            if problems:
                return "misbehaves", "exited 0 but rows were lost or altered: " + "; ".join(problems[:3])
        return "survives", ""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if lines and len(lines) <= max_error_lines and "Traceback" not in stderr:
        return "fails clearly", lines[-1]
    return "fails unclearly", description
