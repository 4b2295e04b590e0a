"""Client snippets that run today, once more under each fault of faults.toml: reported, not judged.

Third-party code may hang or misbehave against a server that misbehaves; the report says so.

Each run gets a stub of its own with the fault, on the port the snippet's code names (its seat's, see
seats.py), serving the snippet's own keys too: a seat's fault runs therefore come one after another,
while the fault runs of different seats overlap (schedule.py), most of their time spent waiting on a
delayed or missing challenge. A run's outcome is the robustness column's (robustness.classify)."""

from __future__ import annotations

from dataclasses import dataclass

from server_stub.faults import PARAMETERS as FAULT_PARAMETERS
from server_stub.records import by_connection
from server_stub.server import StubConfig

from ..paths import FAULTS
from ..robustness import SHORT, FaultsError, classify
from .clients import evidence, run
from .runner import SnippetResult

RUNS = ("PASS", "FLAKY")  # verdicts of snippets that do run, and so can be run under a fault


@dataclass
class FaultRow:
    """One runnable snippet attempt under every fault: its row of the robustness table, and its notes."""

    page: str
    index: int
    label: str
    outcomes: list[str]  # one short outcome per fault (robustness.SHORT), in faults.toml's order
    notes: list[str]  # one for every outcome that is neither ok nor a clear error

    @property
    def cells(self) -> list[str]:
        return [self.page, str(self.index), self.label, *self.outcomes]


def longest_wait(fault: dict) -> float:
    """The longest a stub with this fault keeps a client waiting before it acts: the challenge's delay,
    or, for a challenge that never comes, the stub's own bound on a handshake (it closes then)."""
    if fault["name"] == "no-challenge":
        return StubConfig().handshake_timeout
    return fault.get("fault_delay", FAULT_PARAMETERS["fault_delay"].default)


def check_snippet_timeout(spec: dict) -> None:
    """faults.toml's snippet_timeout must stay clear of every fault's wait (robustness.load_faults checks
    the examples' timeouts the same way): at most half of it, so that a snippet slowed down by the runs
    around it (they overlap) is still running when the stub acts, and is not killed as a hang first."""
    for fault in spec["fault"]:
        wait = longest_wait(fault)
        if wait > spec["snippet_timeout"] / 2:
            raise FaultsError(f"{FAULTS}: snippet_timeout = {spec['snippet_timeout']:g}: less than twice the "
                              f"{wait:g} s a stub under {fault['name']} keeps a client waiting: a snippet's run "
                              "would race its kill")


def runnable(result: SnippetResult) -> list:
    """The attempts of a snippet that ran (and so can run under a fault)."""
    return [v for v in result.verdicts if v.prepared is not None and v.verdict in RUNS and v.seat is not None]


def run_snippet_faults(page: str, result: SnippetResult, spec: dict, seats, clock, progress) -> list[FaultRow]:
    """Every runnable attempt of the snippet under every fault, one run after another on its seat."""
    rows = []
    for verdict in runnable(result):
        outcomes, notes = [], []
        for fault in spec["fault"]:
            with clock.phase("fault runs"):
                outcome, why = _one(verdict, fault, spec, seats, progress)
            outcomes.append(SHORT[outcome])
            if outcome not in ("survives", "fails clearly"):
                last = why.strip().splitlines()[-1] if why.strip() else ""
                notes.append(f"{page} #{result.snippet.index} ({verdict.label}) under {fault['name']}: {outcome}: {last}")
        rows.append(FaultRow(page, result.snippet.index, verdict.label, outcomes, notes))
    return rows


def _one(verdict, fault: dict, spec: dict, seats, progress) -> tuple[str, str]:
    """The verdict's snippet once against a stub with the fault where its code connects (serving the
    snippet's own keys too); "stub failed" with the reason when that stub cannot start."""
    prepared = verdict.prepared
    try:
        with seats.fault_stub(verdict.seat, fault) as stub, stub.extra_keys(verdict.own_keys, replace=True):
            progress.line(f"docs: under fault {fault['name']} (port {stub.port}): {' '.join(prepared.command)} ...")
            finished = run(prepared.command, prepared.cwd, spec["snippet_timeout"], prepared.env)
    except OSError as error:
        return "stub failed", f"a stub with {fault['name']} on port {verdict.seat.port} did not start: {error}"
    conns = by_connection(stub.events())  # stopping the stub recorded every close
    return classify(finished.exit_code, finished.stderr, evidence(finished), conns, fault, spec["max_error_lines"], None)
