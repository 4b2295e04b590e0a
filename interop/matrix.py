"""What the interop run reports: the example matrix, the negative matrix, their notes and failures,
as the terminal table, build/interop/report.md and build/interop/junit.xml (written by report.py)."""

from __future__ import annotations

from pathlib import Path

from .evidence import Rule, Tally, p_missed
from .judge import CaseResult, ClientResult
from .report import JUnitCase, fenced, markdown_table, write_junit, write_markdown

CLIENT_HEADER = ["example", "language", "encoding", "handshakes", "accepted", "rows intact", "P(missed 1/128)",
                 "edge cases seen", "stopped", "result"]
CASE_HEADER = ["case", "expected", "observed", "result"]
ROBUSTNESS_NOTE = ("Robustness columns (faults.toml): each example once against a stub that misbehaves on purpose; "
                   "ok = survives, error = fails with a clear one-line error; HANGS, MISBEHAVES, UNCLEAR fail; "
                   "* = a third-party library's known outcome, recorded in clients.toml (known_faults).")
P_MISSED_NOTE = ("P(missed 1/128): probability that a defect failing 1 handshake in 128 went unseen in this many "
                 "accepted handshakes, (127/128)^n. Edge cases seen: how many signatures had r or s below 2^248 (a "
                 "leading zero byte: raw r||s must keep it, DER drops it; about 1 in 256 each) or, in DER, with the top "
                 "bit set (a 0x00 sign byte; about 1 in 2), as the stub read them; 'broke' counts those whose "
                 "handshake was rejected.")


def stopping_note(rule: Rule) -> str:
    """The legend of the `stopped` column, with the rule's numbers (evidence.toml)."""
    if not rule.k:
        return f"Stopped: a fixed count of {rule.cap} connections per example was asked for (--connections)."
    return (f"Stopped (evidence.toml): each example ran in batches of {rule.batch} connections until every edge case of "
            f"its encoding had been seen {rule.k} time(s) ('evidence'), or {rule.cap} handshakes ('cap', where "
            f"P(missed 1/128) = {p_missed(rule.cap):.1e}).")


def legend(faults: list, rule: Rule) -> list[str]:
    """The notes under the example matrix, on the terminal and in report.md."""
    notes = [P_MISSED_NOTE, stopping_note(rule)]
    if faults:
        notes += [ROBUSTNESS_NOTE, variable_columns_note(faults)]
    return [note for note in notes if note]


def variable_columns_note(faults: list) -> str:
    """The legend of the fault columns whose outcome legitimately varies from run to run (faults.toml `varies`)."""
    varying = {f.fault["column"]: f.fault["varies"] for f in faults if f.fault.get("varies")}
    return " ".join(f"{column}: varies from run to run: {why}" for column, why in varying.items())


def client_row(r: ClientResult, rule: Rule) -> list[str]:
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
            f"{r.rows_intact}/{r.accepted}", missed, edge_cases_seen(r, rule), stopped(r), verdict]


def edge_cases_seen(r: ClientResult, rule: Rule) -> str:
    """The edge-cases column of an example's row."""
    return edge_cases_text(r.client.encoding, r.tally, rule)


def edge_cases_text(encoding: str, tally: Tally, rule: Rule) -> str:
    """"r<2^248 7, s<2^248 9 (6 broke)": the edge cases of `encoding`, how often each came, how many broke."""
    shown = []
    for case in rule.relevant(encoding):
        broke = tally.broke[case.code]
        shown.append(f"{case.shown} {tally.seen[case.code]}" + (f" ({broke} broke)" if broke else ""))
    return ", ".join(shown) or "-"


def stopped(r: ClientResult) -> str:
    """"evidence, 3 runs": why the example's run ended (evidence.py), and in how many batches."""
    runs = f"{len(r.runs)} run" + ("s" if len(r.runs) != 1 else "")
    return f"{r.stopped or 'failure'}, {runs}"


def client_matrix(clients: list[ClientResult], faults: list, rule: Rule) -> tuple[list[str], list[list[str]]]:
    """The example matrix, with one robustness column per fault when faults were run."""
    columns = list(dict.fromkeys(f.fault["column"] for f in faults))
    outcome = {(f.client.id, f.fault["column"]): f.short for f in faults}
    rows = [client_row(r, rule) + [outcome.get((r.client.id, c), "-") for c in columns] for r in clients]
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
                 extra: list[str], summary: str, rule: Rule) -> None:
    blocks = ["## Examples", markdown_table(*matrix), *legend(faults, rule)]
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
    runs = ([(r.client.id, f"interop.{r.client.language}", r.seconds, r.failures) for r in clients]
            + [(f"{r.client.id}--{r.fault['name']}", "interop.faults", r.run.seconds if r.run else 0.0,
                [] if r.passed else [f"{r.outcome}: {r.evidence}"]) for r in faults]
            + [(r.case["id"], "interop.negative", 0.0, r.failures) for r in cases]
            + [(f"setup-{i}", "interop.setup", 0.0, [e]) for i, e in enumerate(extra, 1)])
    write_junit(path, "interop", [
        JUnitCase(name, classname, seconds, messages[0].splitlines()[0][:200] if messages else None, "\n".join(messages))
        for name, classname, seconds, messages in runs])
