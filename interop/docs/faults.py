"""Client snippets that run today, once more under each fault of faults.toml: reported, not judged.

Third-party code may hang or misbehave against a server that misbehaves; the report says so."""

from __future__ import annotations

from pathlib import Path

from server_stub.records import by_connection

from server_stub import run_stub

from ..robustness import SHORT, classify, fault_config, load_faults
from .clients import evidence, run
from .runner import PageResult

RUNS = ("PASS", "FLAKY")  # verdicts of snippets that do run, and so can be run under a fault


def run_snippet_faults(results: list[PageResult], auth_db: Path, port_config: dict, tls_config: dict
                       ) -> tuple[list, list, list]:
    """(rows, fault columns, notes): one row per runnable snippet attempt (page, #, attempt, then one
    outcome per fault), and a note for every outcome that is neither ok nor a clear error. A snippet
    that asked for TLS runs against a TLS stub of `tls_config` (the port and certificate its code names)."""
    spec = load_faults()
    rows, evidence = [], []
    for result in results:
        for snippet_result in result.snippets:
            for verdict in snippet_result.verdicts:
                if verdict.prepared is None or verdict.verdict not in RUNS:
                    continue
                outcomes = []
                for fault in spec["fault"]:
                    outcome, why = _one(verdict, fault, spec, auth_db, tls_config if verdict.tls else port_config)
                    outcomes.append(SHORT[outcome])
                    if outcome not in ("survives", "fails clearly"):
                        evidence.append(f"{result.page.name} #{snippet_result.snippet.index} ({verdict.label}) under "
                                        f"{fault['name']}: {outcome}: {why.strip().splitlines()[-1] if why.strip() else ''}")
                rows.append([result.page.name, str(snippet_result.snippet.index), verdict.label, *outcomes])
    return rows, [f["column"] for f in spec["fault"]], evidence


def _one(verdict, fault: dict, spec: dict, auth_db: Path, port_config: dict) -> tuple[str, str]:
    """The verdict's snippet once against a stub with the fault (serving the snippet's own keys too)."""
    prepared = verdict.prepared
    with run_stub(auth_db, **port_config, **fault_config(fault)) as stub, \
            stub.extra_keys(verdict.own_keys, replace=True):
        print(f"docs: under fault {fault['name']}: {' '.join(prepared.command)} ...", flush=True)
        finished = run(prepared.command, prepared.cwd, spec["snippet_timeout"], prepared.env)
        stub.wait_for(lambda events: True, timeout=1)
    conns = by_connection(stub.events())
    return classify(finished.exit_code, finished.stderr, evidence(finished), conns, fault, spec["max_error_lines"], None)
