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
