"""Sphinx's `.. literalinclude:: FILE`: the code of a file beside the page, as the page shows it.

The file is found relative to the page's folder (Sphinx's rule for a relative path; a path starting with
"/" is relative to the Sphinx source folder, which is not known here). The options that choose what is
shown are applied in Sphinx's order: `:start-after:` / `:start-at:`, `:end-before:` / `:end-at:` (the first
line containing the text), `:lines:` (1-based, `1,3,5-10,20-`, counted in what the start and end options
left), `:dedent:` (N characters, or the common indentation when empty), `:prepend:` and `:append:`;
`:encoding:` reads the file. `:pyobject:` and `:diff:` are not applied: such an include gives a problem
instead of code, as does a file that cannot be read.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

__all__ = ["UNSUPPORTED_OPTIONS", "included_code", "selected_lines"]

UNSUPPORTED_OPTIONS = ("pyobject", "diff")


def selected_lines(spec: str, count: int) -> list[int] | None:
    """The 0-based indexes a `:lines:` spec selects among `count` lines, in order; None when it is malformed."""
    chosen: list[int] = []
    for part in (p.strip() for p in spec.split(",")):
        first, dash, last = part.partition("-")
        try:
            start = int(first) if first.strip() else 1
            end = (int(last) if last.strip() else count) if dash else start
        except ValueError:
            return None
        if start < 1 or end < start:
            return None
        chosen += [i for i in range(start - 1, min(end, count))]
    return chosen


def _cut(lines: list[str], options: dict[str, str]) -> tuple[list[str] | None, str]:
    for key, keep_marker in (("start-after", False), ("start-at", True)):
        if key in options:
            found = next((i for i, line in enumerate(lines) if options[key] in line), None)
            if found is None:
                return None, f":{key}: {options[key]!r} is not in the file"
            lines = lines[found if keep_marker else found + 1:]
    for key, keep_marker in (("end-before", False), ("end-at", True)):
        if key in options:
            found = next((i for i, line in enumerate(lines) if options[key] in line), None)
            if found is None:
                return None, f":{key}: {options[key]!r} is not in the file"
            lines = lines[:found + 1 if keep_marker else found]
    return lines, ""


def included_code(target: str, options: dict[str, str], folder: Path | None) -> tuple[str | None, str]:
    """(the code the include shows, "") or (None, why there is none)."""
    unsupported = [key for key in UNSUPPORTED_OPTIONS if key in options]
    if unsupported:
        return None, f"literalinclude {target}: :{unsupported[0]}: is not applied by the docs check"
    if folder is None or target.startswith("/"):
        return None, f"literalinclude {target}: the page's folder is not known, so the file cannot be found"
    path = folder / target
    try:
        text = path.read_text(encoding=options.get("encoding") or "utf-8")
    except (OSError, LookupError, UnicodeDecodeError) as problem:
        return None, f"literalinclude {target}: {problem}"
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    lines, problem = _cut(lines, options)
    if lines is None:
        return None, f"literalinclude {target}: {problem}"
    if "lines" in options:
        chosen = selected_lines(options["lines"], len(lines))
        if not chosen:
            return None, f"literalinclude {target}: :lines: {options['lines']!r} selects nothing"
        lines = [lines[i] for i in chosen]
    if "dedent" in options:
        if options["dedent"].strip().isdigit():
            n = int(options["dedent"])
            lines = [line[n:] for line in lines]   # as Sphinx, which warns when that is not all blank
        else:
            lines = textwrap.dedent("\n".join(lines)).split("\n")
    if options.get("prepend"):
        lines = [options["prepend"], *lines]
    if options.get("append"):
        lines = [*lines, options["append"]]
    return "".join(line + "\n" for line in lines), ""
