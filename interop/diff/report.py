"""The agreement table per class, as JSON and Markdown, and the disagreements in a few lines each."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

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


def write(results: list, out_dir: Path, header: dict) -> tuple[Path, Path]:
    by_class, disagreeing = table(results), disagreements(results)
    totals = {v: sum(row[v] for row in by_class.values()) for v in ("cases", *VERDICTS)}
    data = {**header, "totals": totals, "classes": by_class, "disagreements": disagreeing}
    json_path, md_path = out_dir / "agreement.json", out_dir / "agreement.md"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    lines = [f"# Agreement of the stub with QuestDB {header.get('questdb', '')}", "",
             (f"`{header['command']}`: {totals['cases']} cases, {totals['agree']} agree, "
              f"{totals['deviation']} deviations (listed in server_stub/PROTOCOL.md section 7), "
              f"{totals['disagree']} disagree, {totals['flaky']} flaky (disagreed once, agreed when played again)."),
             "", "| class | kind | mutations | cases | agree | deviation | disagree | flaky |",
             "|---|---|---|---|---|---|---|---|"]
    for name, row in by_class.items():
        lines.append(f"| {name} | {row['kind']} | {row['mutations']} | {row['cases']} | {row['agree']} | "
                     f"{row['deviation']} | {row['disagree']} | {row['flaky']} |")
    if disagreeing:
        lines += ["", "## Disagreements and flaky cases", ""]
        for d in disagreeing:
            shown = " / ".join(f"`{line}`" for line in d["lines"]) or "(handshake)"
            note = " (minimised)" if d["minimised"] else ""
            lines.append(f"- {d['verdict']}: {d['class']} `{d['mutation']}`, {d['cases']} cases: {shown}{note}: "
                         + "; ".join(d["differences"][:3]))
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
