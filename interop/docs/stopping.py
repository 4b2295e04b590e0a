"""When a client snippet's repetitions stop: on evidence, at the cap, or at the time budget, whichever
comes first (the interop matrix's rule, interop/evidence.py and evidence.toml, plus the budget).

A snippet is a third-party program that usually makes one connection per run, so it is repeated run
after run. After each run, once the stub has recorded the close of that run's connections, its auth
events are added to a `Tally` (evidence.py): the signatures that exercised each edge case of the
snippet's encoding, as the stub recorded it. The repetition stops

- on **evidence** once every edge case of that encoding was seen `k` times (for raw r||s: r and s
  below 2^248, about 1 signature in 256 each; for DER also the top bits);
- at the **cap** once `cap` handshakes were made (P(missed 1/128) is then within evidence.toml's bound),
  or MAX_RUNS runs (bounds the events kept for a snippet that makes no handshake and still exits 0);
- on **budget** once `budget` seconds went by, for the slow snippets (node: 100-185 ms a run beside
  the others) that cannot reach the evidence in it; but not a snippet already at three quarters of
  the cap (NEAR_CAP): at its pace the cap is at most a third of a budget away, so it goes on to it.

So that no verdict depends on a race:
- the decision is taken between runs and only from settled events (repeat.py waits for every close):
  it never cuts a run short, and what decides a verdict (a rejection, a failed run) is recorded first;
- a fast snippet (a Go binary: 5-15 ms a run, even beside the others) ends on evidence or the cap,
  counts that do not depend on how busy the machine is; the budget ends only a snippet short of three
  quarters of the cap by then (at 45 s: slower than 25 ms a run, twice the slowest Go pace measured), so
  no snippet that could reach the cap ends on the clock instead by a few milliseconds of pace.
"""

from __future__ import annotations

from collections import Counter

from ..evidence import Rule, Tally
from ..matrix import edge_cases_text as matrix_edge_cases

MAX_RUNS = 3000  # bounds the events kept in memory for a very fast snippet that makes no handshake
NEAR_CAP = 0.75  # at the budget, a repetition with this share of the cap's handshakes goes on to the cap


def encoding_of(accepted: Counter, recorded: Counter) -> str | None:
    """The snippet's encoding as the stub recorded it: the most common one of its accepted handshakes
    (a rejected one may be parsed as another: a 63-byte raw r||s is read as DER), else of all of them."""
    for counts in (accepted, recorded):
        if counts:
            return counts.most_common(1)[0][0]
    return None


def stop_reason(rule: Rule, encoding: str | None, tally: Tally, runs: int, elapsed: float, budget: float
                ) -> str | None:
    """'evidence', 'cap' or 'budget' once the repetition may stop, else None (at least one run is made).
    Evidence needs a recorded encoding and at least one handshake; it is checked first, so a run that
    meets the evidence and the budget at once says evidence. The budget stops only a repetition short of
    NEAR_CAP of the cap (the module docstring says why)."""
    if runs == 0:
        return None
    if encoding is not None and tally.handshakes and not rule.missing(encoding, tally):
        return "evidence"
    if tally.handshakes >= rule.cap or runs >= MAX_RUNS:
        return "cap"
    if elapsed >= budget and tally.handshakes < NEAR_CAP * rule.cap:
        return "budget"
    return None


def edge_cases_text(rule: Rule, encoding: str | None, tally: Tally) -> str:
    """"r<2^248 2, s<2^248 1 (1 broke)": the matrix's edge-cases column for a snippet, by the encoding the
    stub recorded ("-" before any)."""
    return "-" if encoding is None else matrix_edge_cases(encoding, tally, rule)
