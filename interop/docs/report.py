"""Expectations (data.py loads them) against verdicts, and what the docs check reports: the table, the
evidence, the robustness table, build/docs/report.md and build/docs/junit.xml (written by ../report.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..report import JUnitCase, fenced, markdown_table, table, write_junit, write_markdown
from .runner import PageResult

HEADER = ["page", "#", "language", "tab", "attempt", "verdict", "expected", "detail"]


@dataclass
class Line:
    page: str
    index: int | str
    language: str
    tab: str
    label: str
    verdict: str
    expected: str | None  # None: the page has no expectations
    detail: str
    result: object = None  # the Verdict, for details

    @property
    def ok(self) -> bool:
        return self.expected is None or self.verdict == "SKIPPED" or self.verdict == self.expected


def lines_for(results: list[PageResult], expectations: dict) -> list[Line]:
    lines = []
    for result in results:
        name = result.page.name
        expected_page = expectations.get(name)
        if not result.page.snippets:
            expected = None if expected_page is None else (
                "NO RUNNABLE SNIPPET" if expected_page["no_runnable_snippet"] else "snippets")
            lines.append(Line(name, "-", "-", "-", "page", "NO RUNNABLE SNIPPET", expected,
                              result.page.no_snippet_reason or ""))
            continue
        if expected_page is not None:
            present = {s.snippet.index for s in result.snippets}
            for index in sorted(set(expected_page["snippets"]) - present):
                lines.append(Line(name, index, "?", "", "-", "(no such snippet)", "a snippet",
                                  "the expectations name a snippet the page no longer has"))
        for snippet_result in result.snippets:
            s = snippet_result.snippet
            wanted = None if expected_page is None else expected_page["snippets"].get(s.index, {})
            for verdict in snippet_result.verdicts:
                expected = None if wanted is None else wanted.get(verdict.label.replace(" ", "_"), "(no expectation)")
                lines.append(Line(name, s.index, s.language or "?", s.tab or "", verdict.label, verdict.verdict,
                                  expected, verdict.detail, verdict))
            if wanted:
                seen = {v.label.replace(" ", "_") for v in snippet_result.verdicts}
                for label in sorted(set(wanted) - seen):
                    lines.append(Line(name, s.index, s.language or "?", s.tab or "", label.replace("_", " "),
                                      "(not produced)", wanted[label], "an expected verdict was not produced"))
    return lines


def verdict_table(lines: list[Line]) -> str:
    return table(HEADER, [[ln.page[:24], str(ln.index), ln.language, ln.tab, ln.label, ln.verdict,
                           "" if ln.expected is None else ("ok" if ln.ok else f"EXPECTED {ln.expected}"),
                           ln.detail[:110]] for ln in lines])


def details(lines: list[Line]) -> str:
    """The evidence per verdict: versions, substitutions, confidence, reasons, notes."""
    out = []
    for ln in lines:
        v = ln.result
        if v is None:
            continue
        out.append(f"{ln.page} #{ln.index} ({ln.language}, {ln.label}): {ln.verdict}")
        if v.versions:
            out.append("  versions: " + ", ".join(f"{k} {val}" for k, val in v.versions.items()))
        out += [f"  substitution: {s}" for s in v.substitutions]
        if v.handshakes:
            out.append(f"  {v.runs} runs, {v.handshakes} handshakes, {v.rejected} rejected; "
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
             "" if ln.expected is None else ("ok" if ln.ok else f"**{ln.expected}**"), ln.detail] for ln in lines]
    blocks = [markdown_table(HEADER, rows), "## Evidence", fenced(details(lines))]
    if robustness_text:
        blocks += ["## Under faults", fenced(robustness_text)]
    write_markdown(path, "Documentation snippets against the stub", summary, blocks)


def write_junit_report(path: Path, lines: list[Line]) -> None:
    write_junit(path, "docs", [
        JUnitCase(f"{ln.index}-{ln.language}-{ln.label}", f"docs.{ln.page}",
                  failure=None if ln.ok else f"{ln.verdict}, expected {ln.expected}", details=ln.detail,
                  skipped=ln.detail if ln.verdict == "SKIPPED" else None)
        for ln in lines])
