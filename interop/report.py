"""The matrix as a terminal table, a Markdown report and JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .judge import CaseResult, ClientResult

CLIENT_HEADER = ["example", "language", "encoding", "handshakes", "accepted", "rows intact", "P(missed 1/128)", "result"]
CASE_HEADER = ["case", "expected", "observed", "result"]
ROBUSTNESS_NOTE = ("Robustness columns (faults.toml): each example once against a stub that misbehaves on purpose; "
                   "ok = survives, error = fails with a clear one-line error; HANGS, MISBEHAVES, UNCLEAR fail; "
                   "* = a third-party library's known outcome, recorded in clients.toml (known_faults).")
P_MISSED_NOTE = ("P(missed 1/128): probability that a defect failing 1 handshake in 128 went unseen in this many "
                 "accepted handshakes, (127/128)^n.")


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
            f"{r.rows_intact}/{r.accepted}", missed, verdict]


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


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def markdown(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: s.replace("|", "\\|")
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(map(esc, row)) + " |" for row in rows]
    return "\n".join(out)


def write_markdown(path: Path, matrix: tuple, clients: list[ClientResult], faults: list, cases: list[CaseResult],
                   extra: list[str], summary: str) -> None:
    parts = ["# ILP auth interop report", "", summary, "", "## Examples", "", markdown(*matrix), "",
             P_MISSED_NOTE, "", ROBUSTNESS_NOTE, ""]
    if cases:
        parts += ["## Negative matrix (reference signer)", "", markdown(CASE_HEADER, [case_row(r) for r in cases]), ""]
    failures = [(r.client.id, r.failures) for r in clients if r.failures] + \
               [(f"{r.client.id} under {r.fault['name']}", [r.outcome, r.evidence]) for r in faults if not r.passed] + \
               [(r.case["id"], r.failures) for r in cases if r.failures]
    if failures or extra:
        parts += ["## Failures", ""]
        for name, messages in failures:
            parts += [f"### {name}", "", "```", *messages, "```", ""]
        parts += [f"```\n{e}\n```" for e in extra]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def write_junit(path: Path, clients: list[ClientResult], faults: list, cases: list[CaseResult], extra: list[str]) -> None:
    suite = ET.Element("testsuite", name="interop")
    failures = 0
    for name, classname, seconds, messages in (
        [(r.client.id, f"interop.{r.client.language}", r.run.seconds, r.failures) for r in clients]
        + [(f"{r.client.id}--{r.fault['name']}", "interop.faults", r.run.seconds if r.run else 0.0,
            [] if r.passed else [f"{r.outcome}: {r.evidence}"]) for r in faults]
        + [(r.case["id"], "interop.negative", 0.0, r.failures) for r in cases]
        + [(f"setup-{i}", "interop.setup", 0.0, [e]) for i, e in enumerate(extra, 1)]
    ):
        case = ET.SubElement(suite, "testcase", name=name, classname=classname, time=f"{seconds:.3f}")
        if messages:
            failures += 1
            ET.SubElement(case, "failure", message=messages[0].splitlines()[0][:200]).text = "\n".join(messages)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
