"""The one report writer of every entry point (interop, docs, questdb, bench): aligned terminal tables,
Markdown tables and documents, JUnit XML, and the summary line `NAME: N passed, N failed` that .ci/run
reads. What a report says is its entry point's (matrix.py, docs/report.py, questdb/main.py,
bench/report.py); how it is written is here."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


def table(header: list[str], rows: list[list[str]], rule: bool = True) -> str:
    """Left-aligned columns two spaces apart, the header first (then a line of dashes, with `rule`)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([line(header), *([line(["-" * w for w in widths])] if rule else []), *map(line, rows)])


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; a cell's `|` is escaped and its line ends become spaces."""

    def cells(row: list) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |"

    return "\n".join([cells(header), "|" + "---|" * len(header), *map(cells, rows)])


def fenced(text: str) -> str:
    return f"```\n{text}\n```"


def write_markdown(path: Path, title: str, summary: str, blocks: list[str]) -> None:
    """A Markdown document: the title, the summary line, then each block (a table, a heading, a
    paragraph, a fenced block), a blank line apart."""
    path.write_text("\n\n".join([f"# {title}", summary, *blocks]) + "\n", encoding="utf-8")


@dataclass
class JUnitCase:
    """One testcase of a JUnit report; a failure when `failure` (its one-line message) is set."""

    name: str
    classname: str
    seconds: float | None = None
    failure: str | None = None
    details: str = ""  # the failure's text
    skipped: str | None = None  # why, when it was skipped


def write_junit(path: Path, suite: str, cases: list[JUnitCase]) -> None:
    root = ET.Element("testsuite", name=suite)
    for case in cases:
        attributes = {"name": case.name, "classname": case.classname}
        if case.seconds is not None:
            attributes["time"] = f"{case.seconds:.3f}"
        element = ET.SubElement(root, "testcase", attributes)
        if case.failure is not None:
            ET.SubElement(element, "failure", message=case.failure).text = case.details
        elif case.skipped is not None:
            ET.SubElement(element, "skipped", message=case.skipped)
    root.set("tests", str(len(cases)))
    root.set("failures", str(sum(case.failure is not None for case in cases)))
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def summary_line(name: str, passed: int, failed: int) -> str:
    """The last line of a run, the one CI sums: `interop: 100 passed, 0 failed`."""
    return f"{name}: {passed} passed, {failed} failed"
