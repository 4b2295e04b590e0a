"""What the interop run reports: the example matrix, the negative matrix, their notes and failures,
as the terminal table, build/interop/report.md and build/interop/junit.xml (written by report.py)."""

from __future__ import annotations

from pathlib import Path

from .judge import CaseResult, ClientResult
from .report import JUnitCase, fenced, markdown_table, write_junit, write_markdown

CLIENT_HEADER = ["example", "language", "encoding", "handshakes", "accepted", "rows intact", "P(missed 1/128)",
                 "edge cases seen", "result"]
# The edge cases (the auth event's edge_cases) that decide an encoding, as the matrix names them.
EDGE_CASES = {"p1363": {"r_below_2^248": "r<2^248", "s_below_2^248": "s<2^248"},
              "der": {"r_below_2^248": "r<2^248", "s_below_2^248": "s<2^248", "r_top_bit": "r top bit",
                      "s_top_bit": "s top bit"}}
CASE_HEADER = ["case", "expected", "observed", "result"]
ROBUSTNESS_NOTE = ("Robustness columns (faults.toml): each example once against a stub that misbehaves on purpose; "
                   "ok = survives, error = fails with a clear one-line error; HANGS, MISBEHAVES, UNCLEAR fail; "
                   "* = a third-party library's known outcome, recorded in clients.toml (known_faults).")
P_MISSED_NOTE = ("P(missed 1/128): probability that a defect failing 1 handshake in 128 went unseen in this many "
                 "accepted handshakes, (127/128)^n. Edge cases seen: how many signatures had r or s below 2^248 (a "
                 "leading zero byte: raw r||s must keep it, DER drops it; about 1 in 256 each) or, in DER, with the top "
                 "bit set (a 0x00 sign byte; about 1 in 2), as the stub read them; 'broke' counts those whose "
                 "handshake was rejected.")


def client_row(r: ClientResult) -> list[str]:
    encodings = ", ".join(f"{e}" if n == r.handshakes else f"{e} {n}" for e, n in r.encodings.most_common()) or "-"
    if r.client.expect == "defective":
        rejected = r.handshakes - r.accepted
        accepted = f"{r.accepted} ({rejected} rejected: {r.client.defect}, {100 * r.defect_rate:.2f}%)"
        verdict = "DEFECT FOUND" if r.passed else "FAIL"
    else:
        accepted = str(r.accepted)
        verdict = "PASS" if r.passed else "FAIL"
    missed = "-" if r.client.expect == "defective" else f"{r.p_missed:.1e}"
    return [r.client.id, r.client.language, encodings, str(r.handshakes), accepted,
            f"{r.rows_intact}/{r.accepted}", missed, edge_cases_seen(r), verdict]


def edge_cases_seen(r: ClientResult) -> str:
    """"r<2^248 7, s<2^248 9 (6 broke)": the edge cases of the example's encoding, with how many broke."""
    names = EDGE_CASES.get(r.client.encoding, {})
    shown = []
    for code, name in names.items():
        broke = r.edge_cases_broken[code]
        shown.append(f"{name} {r.edge_cases[code]}" + (f" ({broke} broke)" if broke else ""))
    return ", ".join(shown) or "-"


def client_matrix(clients: list[ClientResult], faults: list) -> tuple[list[str], list[list[str]]]:
    """The example matrix, with one robustness column per fault when faults were run."""
    columns = list(dict.fromkeys(f.fault["column"] for f in faults))
    outcome = {(f.client.id, f.fault["column"]): f.short for f in faults}
    rows = [client_row(r) + [outcome.get((r.client.id, c), "-") for c in columns] for r in clients]
    return CLIENT_HEADER + columns, rows


def case_row(r: CaseResult) -> list[str]:
    expect = r.case["expect"]
    want = "accepted" if expect["accepted"] else f"rejected: {expect['reason_code']}"
    seen = r.observed
    if not seen:
        got = "no verdict"
    else:
        got = "accepted" if seen["accepted"] else f"rejected: {seen['reason_code']}"
        got += f" ({seen['encoding']}, {seen['rows']} rows, {'challenge' if seen['challenge'] else 'no challenge'})"
    return [r.case["id"], want, got, "PASS" if r.passed else "FAIL"]


def failures(clients: list[ClientResult], faults: list, cases: list[CaseResult]) -> list[tuple[str, list[str]]]:
    """(what failed, its messages) for every failed example, example under a fault, and case."""
    return ([(r.client.id, r.failures) for r in clients if r.failures]
            + [(f"{r.client.id} under fault {r.fault['name']}", [f"{r.outcome}: {r.evidence}"])
               for r in faults if not r.passed]
            + [(f"negative/{r.case['id']}", r.failures) for r in cases if r.failures])


def write_report(path: Path, matrix: tuple, clients: list[ClientResult], faults: list, cases: list[CaseResult],
                 extra: list[str], summary: str) -> None:
    blocks = ["## Examples", markdown_table(*matrix), P_MISSED_NOTE, ROBUSTNESS_NOTE]
    if cases:
        blocks += ["## Negative matrix (reference signer)", markdown_table(CASE_HEADER, [case_row(r) for r in cases])]
    failed = failures(clients, faults, cases)
    if failed or extra:
        blocks.append("## Failures")
        for name, messages in failed:
            blocks += [f"### {name}", fenced("\n".join(messages))]
        blocks += [fenced(e) for e in extra]
    write_markdown(path, "ILP auth interop report", summary, blocks)


def write_junit_report(path: Path, clients: list[ClientResult], faults: list, cases: list[CaseResult],
                       extra: list[str]) -> None:
    runs = ([(r.client.id, f"interop.{r.client.language}", r.run.seconds, r.failures) for r in clients]
            + [(f"{r.client.id}--{r.fault['name']}", "interop.faults", r.run.seconds if r.run else 0.0,
                [] if r.passed else [f"{r.outcome}: {r.evidence}"]) for r in faults]
            + [(r.case["id"], "interop.negative", 0.0, r.failures) for r in cases]
            + [(f"setup-{i}", "interop.setup", 0.0, [e]) for i, e in enumerate(extra, 1)])
    write_junit(path, "interop", [
        JUnitCase(name, classname, seconds, messages[0].splitlines()[0][:200] if messages else None, "\n".join(messages))
        for name, classname, seconds, messages in runs])
