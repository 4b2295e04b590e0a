"""`--update-expectations`: the verdicts of this run written into the expectations file, the way a
conformance suite's list of known failures is kept by its updater rather than by hand.

Every checked page's entry is rewritten from its verdicts; pages not checked in this run keep theirs. An
entry's `why` is kept while it still applies: the same snippet (heading, language, digest) with the same
verdicts, or, for a snippet whose content changed, the one stale entry under the same heading and language
with the same verdicts. A SKIPPED verdict is no evidence against an earlier verdict (a tool missing here),
so it keeps that one. A new expected failure gets its detail as a `why` marked for review.
"""

from __future__ import annotations

import json
from pathlib import Path

from .data import ATTEMPTS, FAILURES
from .report import page_keys
from .runner import PageResult

TO_REVIEW = "TO REVIEW (written by --update-expectations): "
DEFAULT_HEADER = """\
# The verdicts the project expects for documentation pages (interop/docs/data.py has the schema).
# Written by `python -m interop.docs --update-expectations`; review each `why` by hand.
"""


def render(results: list[PageResult], old: dict, old_text: str | None) -> tuple[str, list[str]]:
    """(the new file's text, the entries whose why must be reviewed)."""
    pages = {name: _old_page(entry) for name, entry in old.items()}
    review: list[str] = []
    for result in results:
        pages[result.page.name] = _page(result, old.get(result.page.name), review)
    out = [_header(old_text)]
    for name in sorted(pages):
        out.append(_render_page(name, pages[name]))
    return "\n".join(out), review


def write(path: Path, results: list[PageResult], old: dict) -> list[str]:
    old_text = path.read_text("utf-8") if path.exists() else None
    text, review = render(results, old, old_text)
    path.write_text(text, "utf-8")
    return review


def _header(old_text: str | None) -> str:
    """The old file's leading comment block, else the default one."""
    if not old_text:
        return DEFAULT_HEADER
    kept = []
    for line in old_text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        kept.append(line)
    return "\n".join(kept).strip("\n") + "\n"


def _old_page(entry: dict) -> dict:
    snippets = [{"heading": k[0], "language": k[1], "digest": k[2], "occurrence": k[3], **v}
                for k, v in entry["snippets"].items()]
    return {"why": entry.get("why"), "snippets": snippets}


def _page(result: PageResult, old_page: dict | None, review: list[str]) -> dict:
    old_entries = (old_page or {"snippets": {}})["snippets"]
    keys = page_keys(result.page.snippets)
    stale = {k: v for k, v in old_entries.items() if k not in keys}
    snippets = []
    for key, snippet_result in zip(keys, result.snippets, strict=True):
        before = old_entries.get(key)
        verdicts = {}
        for verdict in snippet_result.verdicts:
            attempt = verdict.label.replace(" ", "_")
            earlier = (before or {}).get(attempt)
            verdicts[attempt] = earlier if verdict.verdict == "SKIPPED" and earlier else verdict.verdict
        same = [k for k, v in stale.items() if k[:2] == key[:2] and _verdicts(v) == verdicts]
        why = None
        if before is not None and _verdicts(before) == verdicts:
            why = before.get("why")
        elif len(same) == 1:
            why = stale.pop(same[0]).get("why")
        failing = next((v for v in snippet_result.verdicts if verdicts.get(v.label.replace(" ", "_")) in FAILURES),
                       None)
        if failing is not None and not (why or "").strip():
            why = f"{TO_REVIEW}{failing.detail}"
            review.append(f"{result.page.name} #{snippet_result.snippet.index} under {key[0]!r}: {failing.verdict}")
        snippets.append({"heading": key[0], "language": key[1], "digest": key[2], "occurrence": key[3],
                         "index": snippet_result.snippet.index, "line": snippet_result.snippet.line,
                         "why": why, **verdicts})
    return {"why": (old_page or {}).get("why"), "snippets": snippets}


def _verdicts(entry: dict) -> dict:
    return {a: entry[a] for a in ATTEMPTS if a in entry}


def _render_page(name: str, page: dict) -> str:
    out = ["[[page]]", f"name = {_string(name)}"]
    if page.get("why"):
        out.append(f"why = {_string(page['why'])}")
    for entry in page["snippets"]:
        out.append("")
        if "index" in entry:
            out.append(f"# block {entry['index']}, line {entry['line']} when written")
        out += ["[[page.snippet]]", f"heading = {_string(entry['heading'])}",
                f"language = {_string(entry['language'])}", f"digest = {_string(entry['digest'])}"]
        if entry["occurrence"] != 1:
            out.append(f"occurrence = {entry['occurrence']}")
        out += [f"{attempt} = {_string(entry[attempt])}" for attempt in ATTEMPTS if attempt in entry]
        if entry.get("why"):
            out.append(f"why = {_string(entry['why'])}")
    return "\n".join(out) + "\n"


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL is escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


__all__ = ["DEFAULT_HEADER", "TO_REVIEW", "render", "write"]
