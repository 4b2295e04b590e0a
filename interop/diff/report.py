"""The agreement table per class, as JSON and Markdown (written by interop/report.py), and the disagreements
in a few lines each."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ..report import markdown_table, write_markdown
from ..report import table as text_table

VERDICTS = ("agree", "deviation", "disagree", "flaky")


def table(results: list) -> dict:
    """{class: {"kind", "cases", "agree", "deviation", "disagree", "mutations"}} in generator order."""
    out: dict[str, dict] = {}
    for r in results:
        row = out.setdefault(r.case.cls, {"kind": r.case.kind, "cases": 0, **dict.fromkeys(VERDICTS, 0),
                                          "mutations": set()})
        row["cases"] += 1
        row[r.verdict] += 1
        row["mutations"].add(r.case.mutation)
    for row in out.values():
        row["mutations"] = len(row["mutations"])
    return out


def disagreements(results: list) -> list[dict]:
    """One entry per (class, mutation) that disagreed or was flaky: how often, one example, its differences."""
    failing = ("disagree", "flaky")
    counts = Counter((r.case.cls, r.case.mutation) for r in results if r.verdict in failing)
    out, seen = [], set()
    for r in results:
        key = (r.case.cls, r.case.mutation)
        if r.verdict not in failing or key in seen:
            continue
        seen.add(key)
        out.append({"class": r.case.cls, "mutation": r.case.mutation, "verdict": r.verdict, "cases": counts[key],
                    "lines": [_show(line) for line in (r.minimised or r.case.lines)],
                    "minimised": r.minimised is not None, "differences": r.replay or r.differences})
    return out


def _show(line: bytes, limit: int = 160) -> str:
    text = repr(line)[2:-1]
    return text if len(text) <= limit else f"{text[:limit]}... ({len(line)} bytes)"


HEADER = ["class", "kind", "mutations", "cases", *VERDICTS]


def _rows(by_class: dict) -> list[list]:
    return [[name, row["kind"], row["mutations"], row["cases"], *(row[v] for v in VERDICTS)]
            for name, row in by_class.items()]


def write(results: list, out_dir: Path, header: dict) -> str:
    """agreement.json and agreement.md in out_dir; returns the table for the terminal."""
    by_class, disagreeing = table(results), disagreements(results)
    totals = {v: sum(row[v] for row in by_class.values()) for v in ("cases", *VERDICTS)}
    (out_dir / "agreement.json").write_text(json.dumps(
        {**header, "totals": totals, "classes": by_class, "disagreements": disagreeing}, indent=1) + "\n")
    summary = (f"`{header['command']}`: {totals['cases']} cases, {totals['agree']} agree, "
               f"{totals['deviation']} deviations (listed in server_stub/PROTOCOL.md section 7), "
               f"{totals['disagree']} disagree, {totals['flaky']} flaky (disagreed once, agreed when played again).")
    blocks = [markdown_table(HEADER, _rows(by_class))]
    if disagreeing:
        items = []
        for d in disagreeing:
            shown = " / ".join(f"`{line}`" for line in d["lines"]) or "(handshake)"
            note = " (minimised)" if d["minimised"] else ""
            items.append(f"- {d['verdict']}: {d['class']} `{d['mutation']}`, {d['cases']} cases: {shown}{note}: "
                         + "; ".join(d["differences"][:3]))
        blocks += ["## Disagreements and flaky cases", "\n".join(items)]
    write_markdown(out_dir / "agreement.md", f"Agreement of the stub with QuestDB {header.get('questdb', '')}",
                   summary, blocks)
    return text_table(HEADER, [[str(cell) for cell in row] for row in _rows(by_class)])
