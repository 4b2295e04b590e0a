"""Applies substitutions.toml to a client snippet and lists what it changed."""

from __future__ import annotations

import re

from .data import load_substitutions


def substitute(code: str, language: str, values: dict, port_moved: bool,
               rules: list[dict] | None = None) -> tuple[str, list[str], bool]:
    """(changed code, ["'from' -> 'to' (why)", ...], whether the snippet asks for TLS) for the rules that
    apply and match, in order: a rule with `tls` that matches makes it a TLS snippet, for which the
    rules `when = "tls"` that follow apply too."""
    applied, tls = [], False
    for rule in rules if rules is not None else load_substitutions():
        when = rule["when"]
        if language not in rule["languages"] or (when == "port_moved" and not port_moved) or (when == "tls" and not tls):
            continue
        replacement = rule["replace"].format(**values)
        pattern = re.compile(rule["pattern"] if "pattern" in rule else re.escape(rule["find"]))
        matches = list(pattern.finditer(code))
        found = sorted({m.group(0) for m in matches})
        if not found:
            continue
        shown_text = matches[0].expand(replacement) if "pattern" in rule else replacement
        if "pattern" in rule:  # a pattern's replacement may name its groups (\\1)
            code = pattern.sub(lambda match, text=replacement: match.expand(text), code)
        else:
            code = pattern.sub(lambda _match, text=replacement: text, code)
        tls = tls or rule["tls"]
        shown = shown_text if len(shown_text) <= 20 else _short(shown_text)
        applied += [f"{_short(text)!r} -> {shown!r} ({rule['why'].format(**values)})" for text in found]
    return code, applied, tls


def _short(text: str) -> str:
    """A matched text as the report shows it: on one line, at most 40 characters."""
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


# A comment, conservatively: Python's from any #, the C family's from a // that no URL scheme's colon
# precedes, and /* ... */. Wrongly taking text for a comment only makes a snippet run on the documented
# port (one at a time); wrongly taking a comment for code would move a snippet that then connects to
# its client's default address, so the blanking errs on the side of a comment.
_COMMENTS = {
    "python": re.compile(r"#[^\n]*"),
    "c": re.compile(r"/\*.*?\*/|(?<!:)//[^\n]*", re.DOTALL),
}


def without_comments(code: str, language: str) -> str:
    """The code with what may be a comment blanked (seats.py: whether a snippet's port can be moved)."""
    pattern = _COMMENTS["python" if language == "python" else "c"]
    return pattern.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), code)


def names_port(code: str, language: str, rules: list[dict] | None = None) -> bool:
    """Whether the snippet's code names the port outside a comment, so that a substitution moves it to a
    stub of its own: a rule of its language that puts in {port} or {tls_port} matches there. A snippet
    whose client connects to its default address (9009) does not, whatever its comments say."""
    code = without_comments(code, language)
    for rule in rules if rules is not None else load_substitutions():
        if language not in rule["languages"] or not re.search(r"\{(?:tls_)?port\}", rule["replace"]):
            continue
        if re.search(rule["pattern"] if "pattern" in rule else re.escape(rule["find"]), code):
            return True
    return False
