"""The smallest fix of a client snippet that fails for a reason that has nothing to do with authentication.

The rules are data (fixes.toml): an error pattern searched in the failed attempt's evidence, and an
action (drop an unused import, add a missing one). `minimal_fix` returns the fixed code and what was
changed, or None when no rule applies or the fix would change nothing.
"""

from __future__ import annotations

import re

from .clients.javascript import is_es_module
from .data import load_fixes

_GO_IMPORT_BLOCK = re.compile(r"^import\s*\((?P<body>.*?)^\)", re.MULTILINE | re.DOTALL)


def minimal_fix(language: str, code: str, evidence: str) -> tuple[str, str] | None:
    """(fixed code, "what was changed") for the first rule of ``language`` whose error is in ``evidence``."""
    data = load_fixes()
    for rule in data["fix"]:
        if rule["language"] != language:
            continue
        names = list(dict.fromkeys(m.group("name") for m in re.finditer(rule["error"], evidence)))
        fixed, done = code, []
        for name in names:
            changed = _ACTIONS[rule["action"]](language, fixed, name, data["imports"])
            if changed is not None and changed != fixed:
                fixed = changed
                done.append(rule["why"].format(name=name))
        if done:
            return fixed, "; ".join(done)
    return None


def _drop_import(language: str, code: str, name: str, imports: dict) -> str | None:
    """Go: the import of ``name`` removed, from an import block or a single import line."""
    quoted = re.escape(f'"{name}"')
    single = re.compile(rf"^import\s+(?:\w+\s+)?{quoted}[ \t]*\n", re.MULTILINE)
    if single.search(code):
        return single.sub("", code, count=1)
    block = _GO_IMPORT_BLOCK.search(code)
    if not block:
        return None
    body = re.sub(rf"^[ \t]*(?:[\w.]+[ \t]+)?{quoted}[ \t]*(?://.*)?\n", "", block["body"], count=1, flags=re.MULTILINE)
    return code[:block.start("body")] + body + code[block.end("body"):]


def _add_import(language: str, code: str, name: str, imports: dict) -> str | None:
    table = imports.get(language, {})
    if language == "javascript":
        table = table.get("esm" if is_es_module(code) else "cjs", {})
    line = table.get(name)
    if line is None:
        return None
    if language == "go":
        block = _GO_IMPORT_BLOCK.search(code)
        if block:
            return code[:block.start("body")] + f'\n\t"{line}"' + code[block.start("body"):]
        package = re.search(r"^package\s+\w+[ \t]*\n", code, re.MULTILINE)
        if not package:
            return None
        return code[:package.end()] + f'\nimport "{line}"\n' + code[package.end():]
    return line + "\n" + code


_ACTIONS = {"drop_import": _drop_import, "add_import": _add_import}
