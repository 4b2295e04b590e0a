"""Expectations (data.py loads them) against verdicts, and what the docs check reports: the table, the
evidence, the robustness table, build/docs/report.md and build/docs/junit.xml (written by ../report.py).

A snippet's expectation is found by its heading, language and content digest (page_keys), not its
position. Each verdict line is passed, failed or skipped: a failure without an expectation fails."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..report import JUnitCase, fenced, markdown_table, table, write_junit, write_markdown
from ..report import summary_line as base_summary_line
from .data import ATTEMPTS, FAILURES
from .runner import PageResult

HEADER = ["page", "#", "language", "tab", "attempt", "verdict", "expected", "detail"]
MISSING = ("(no such snippet)", "(not produced)")  # lines for an expectation that names nothing the run made


@dataclass
class Line:
    page: str
    index: int | str
    language: str
    tab: str
    label: str
    verdict: str
    expected: str | None  # None: no expectation for this snippet's attempt
    detail: str
    result: object = None  # the Verdict, for details
    heading: str = ""

    @property
    def status(self) -> str:
        """passed, failed or skipped. A SKIPPED verdict is never a pass; a failure needs its expectation;
        with an expectation the verdict must equal it (a skip expected gives no expectation to a verdict)."""
        if self.verdict in MISSING:
            return "failed"
        if self.verdict == "SKIPPED":
            return "skipped"
        if self.expected is None or self.expected == "SKIPPED":
            return "failed" if self.verdict in FAILURES else "passed"
        return "passed" if self.verdict == self.expected else "failed"

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    @property
    def judged(self) -> str:
        """The table's expected column."""
        if self.status == "failed":
            return "FAILS: no expectation" if self.expected in (None, "SKIPPED") else f"EXPECTED {self.expected}"
        return "" if self.expected is None else "ok"


def counts(lines: list[Line]) -> dict[str, int]:
    return {status: sum(ln.status == status for ln in lines) for status in ("passed", "failed", "skipped")}


def summary_line(lines: list[Line]) -> str:
    """`docs: N passed, N failed, N skipped` (CI sums the first two)."""
    n = counts(lines)
    return f"{base_summary_line('docs', n['passed'], n['failed'])}, {n['skipped']} skipped"


def page_keys(snippets) -> list[tuple[str, str, str, int]]:
    """Each snippet's expectation key (heading, language, digest, occurrence), in page order."""
    seen: Counter = Counter()
    keys = []
    for s in snippets:
        base = (s.heading, s.language, s.digest)
        seen[base] += 1
        keys.append((*base, seen[base]))
    return keys


def lines_for(results: list[PageResult], expectations: dict) -> list[Line]:
    lines = []
    for result in results:
        name = result.page.name
        entries = (expectations.get(name) or {"snippets": {}})["snippets"]
        keys = page_keys(result.page.snippets)
        for key in [k for k in entries if k not in keys]:
            lines.append(Line(name, "?", key[1] or "?", "", "-", "(no such snippet)", "a snippet",
                              f"the expectations name a snippet the page no longer has: under {key[0]!r}, "
                              f"digest {key[2]}", heading=key[0]))
        if not result.page.snippets:
            lines.append(Line(name, "-", "-", "-", "page", "SKIPPED", None,
                              f"no runnable snippet: {result.page.no_snippet_reason or ''}"))
            continue
        by_index = dict(zip((s.index for s in result.page.snippets), keys, strict=True))
        for snippet_result in result.snippets:
            s = snippet_result.snippet
            wanted = entries.get(by_index[s.index], {})
            for verdict in snippet_result.verdicts:
                expected = wanted.get(verdict.label.replace(" ", "_"))
                lines.append(Line(name, s.index, s.language or "?", s.tab or "", verdict.label, verdict.verdict,
                                  expected, verdict.detail, verdict, s.heading))
            seen = {v.label.replace(" ", "_") for v in snippet_result.verdicts}
            for label in [a for a in ATTEMPTS if a in wanted and a not in seen]:
                lines.append(Line(name, s.index, s.language or "?", s.tab or "", label.replace("_", " "),
                                  "(not produced)", wanted[label], "an expected verdict was not produced",
                                  heading=s.heading))
    return lines


def verdict_table(lines: list[Line]) -> str:
    return table(HEADER, [[ln.page[:24], str(ln.index), ln.language, ln.tab, ln.label, ln.verdict,
                           ln.judged, ln.detail[:110]] for ln in lines])


def details(lines: list[Line]) -> str:
    """The evidence per verdict: versions, substitutions, confidence, reasons, notes."""
    out = []
    for ln in lines:
        v = ln.result
        if v is None:
            continue
        out.append(f"{ln.page} #{ln.index} ({ln.language}, {ln.label}, under {ln.heading!r}): {ln.verdict}"
                   + (f": {ln.detail}" if ln.verdict == "SKIPPED" else ""))
        if v.versions:
            out.append("  versions: " + ", ".join(f"{k} {val}" for k, val in v.versions.items()))
        out += [f"  substitution: {s}" for s in v.substitutions]
        if v.handshakes:
            out.append(f"  {v.runs} runs in {v.seconds:.1f} s, {v.handshakes} handshakes, {v.rejected} rejected; "
                       f"stopped on {v.stopped}; edge cases seen ({v.encoding}): {v.edge_cases}; "
                       f"P(a 1-in-128 defect missed) = {v.p_missed:.1e}")
        out += [f"  note: {n}" for n in v.notes]
        out += [f"  | {e}" for e in v.evidence.strip().splitlines()[:14]]
    return "\n".join(out)


def robustness(rows: list[list[str]], columns: list[str], notes: list[str]) -> str:
    """The snippets that run, under each fault of faults.toml (reported; third-party code is not judged)."""
    title = ("Robustness (each runnable snippet once against a stub that misbehaves on purpose; "
             "ok = survives, error = fails clearly):")
    return "\n".join([title, table(["page", "#", "attempt", *columns], rows), *[f"  {n}" for n in notes]])


def write_report(path: Path, lines: list[Line], summary: str, robustness_text: str = "") -> None:
    rows = [[ln.page, ln.index, ln.language, ln.tab, ln.label, ln.verdict,
             f"**{ln.judged}**" if ln.status == "failed" else ln.judged, ln.detail] for ln in lines]
    blocks = [markdown_table(HEADER, rows), "## Evidence", fenced(details(lines))]
    if robustness_text:
        blocks += ["## Under faults", fenced(robustness_text)]
    write_markdown(path, "Documentation snippets against the stub", summary, blocks)


def write_junit_report(path: Path, lines: list[Line]) -> None:
    write_junit(path, "docs", [
        JUnitCase(f"{ln.index}-{ln.language}-{ln.label}", f"docs.{ln.page}",
                  failure=None if ln.ok else f"{ln.verdict}: {ln.judged}", details=ln.detail,
                  skipped=ln.detail if ln.status == "skipped" else None)
        for ln in lines])
