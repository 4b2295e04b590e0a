"""Expectations (data) against verdicts, and the report: terminal table, Markdown, JUnit XML."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

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


def load_expectations(path: Path | None) -> dict:
    """{page name: {"no_runnable_snippet": bool, "snippets": {index: {label: verdict}}}}."""
    if path is None or not path.exists():
        return {}
    pages = {}
    for page in tomllib.loads(path.read_text("utf-8")).get("page", []):
        snippets = {s["index"]: {k: v for k, v in s.items() if k not in ("index", "language", "why")}
                    for s in page.get("snippet", [])}
        pages[page["name"]] = {"no_runnable_snippet": page.get("no_runnable_snippet", False), "snippets": snippets}
    return pages


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


def table(lines: list[Line]) -> str:
    rows = [[ln.page[:24], str(ln.index), ln.language, ln.tab, ln.label, ln.verdict,
             "" if ln.expected is None else ("ok" if ln.ok else f"EXPECTED {ln.expected}"), ln.detail[:110]]
            for ln in lines]
    widths = [max(len(x) for x in col) for col in zip(HEADER, *rows)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([fmt(HEADER), fmt(["-" * w for w in widths]), *map(fmt, rows)])


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
    header = ["page", "#", "attempt", *columns]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    title = ("Robustness (each runnable snippet once against a stub that misbehaves on purpose; "
             "ok = survives, error = fails clearly):")
    text = [title, fmt(header), fmt(["-" * w for w in widths]), *map(fmt, rows)]
    return "\n".join(text + [f"  {n}" for n in notes])


def write_markdown(path: Path, lines: list[Line], summary: str, robustness_text: str = "") -> None:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    rows = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    rows += ["| " + " | ".join(esc(x) for x in (ln.page, ln.index, ln.language, ln.tab, ln.label, ln.verdict,
                                                 "" if ln.expected is None else ("ok" if ln.ok else f"**{ln.expected}**"),
                                                 ln.detail)) + " |" for ln in lines]
    text = ["# Documentation snippets against the stub", "", summary, "", *rows, "", "## Evidence", "", "```",
            details(lines), "```", ""]
    if robustness_text:
        text += ["## Under faults", "", "```", robustness_text, "```", ""]
    path.write_text("\n".join(text), encoding="utf-8")


def write_junit(path: Path, lines: list[Line]) -> None:
    suite = ET.Element("testsuite", name="docs")
    for ln in lines:
        case = ET.SubElement(suite, "testcase", classname=f"docs.{ln.page}", name=f"{ln.index}-{ln.language}-{ln.label}")
        if not ln.ok:
            ET.SubElement(case, "failure", message=f"{ln.verdict}, expected {ln.expected}").text = ln.detail
        elif ln.verdict == "SKIPPED":
            ET.SubElement(case, "skipped", message=ln.detail)
    suite.set("tests", str(len(lines)))
    suite.set("failures", str(sum(not ln.ok for ln in lines)))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
