"""The flake report of `python -m interop --repeat N`: every cell of the matrix whose outcome changed
between the runs, each run's outcome in order.

A cell is an example's result, an example under a fault, a negative case or a setup failure. A change
in a fault column that legitimately varies (faults.toml `varies`) between acceptable outcomes is listed
apart and not counted; every other change is a flake.
"""

from __future__ import annotations

from .report import table
from .robustness import ACCEPTABLE


def cells(outcome) -> dict[str, str]:
    """{cell: its outcome} of one run."""
    found = {f"{r.client.id} / result": "PASS" if r.passed else "FAIL" for r in outcome.clients}
    found |= {f"{r.client.id} / {r.fault['column']}": r.outcome for r in outcome.faults}
    found |= {f"negative / {r.case['id']}": "PASS" if r.passed else "FAIL" for r in outcome.cases}
    found |= {f"setup / {m.splitlines()[0][:60]}": "FAIL" for m in outcome.setup_failures}
    return found


def _varying_columns(outcomes) -> set[str]:
    return {r.fault["column"] for o in outcomes for r in o.faults if r.fault.get("varies")}


def flake_report(outcomes: list) -> tuple[int, str]:
    """(the number of flakes, the report's text) over the runs of one --repeat."""
    per_run = [cells(o) for o in outcomes]
    names = list(dict.fromkeys(name for run in per_run for name in run))
    varying = _varying_columns(outcomes)
    flakes, expected = [], []
    for name in names:
        seen = [run.get(name, "-") for run in per_run]
        if len(set(seen)) == 1:
            continue
        column = name.split(" / ", 1)[1]
        row = [name, ", ".join(f"{o} x{seen.count(o)}" for o in dict.fromkeys(seen)), " ".join(_short(o) for o in seen)]
        (expected if column in varying and set(seen) <= ACCEPTABLE else flakes).append(row)
    header = ["cell", "outcomes", "run by run"]
    lines = [f"Flake report: {len(outcomes)} runs, {len(names)} cells, {len(flakes)} changed"
             + (f" (and {len(expected)} in columns that legitimately vary)" if expected else "")]
    if flakes:
        lines += ["", table(header, flakes)]
    if expected:
        lines += ["", "Changes in columns that legitimately vary (faults.toml `varies`), not counted:",
                  table(header, expected)]
    return len(flakes), "\n".join(lines)


def _short(outcome: str) -> str:
    return {"PASS": "P", "FAIL": "F", "survives": "ok", "fails clearly": "err"}.get(outcome, outcome.upper())
