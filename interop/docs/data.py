"""The docs check's data files, each with its schema and loader: the expectations (docs_expectations.toml),
the substitutions, the dependencies and the known server.conf keys. What each key means is written at
the top of each file; the schemas say which keys exist, their types and their defaults."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ..datafile import ABSENT, Key, Table, load_toml
from ..paths import DOCS_CONF_KEYS, DOCS_DEPENDENCIES, DOCS_EXPECTATIONS, DOCS_SHIMS, DOCS_SUBSTITUTIONS

# Every verdict an attempt can get (repeat.Verdict, checks.CheckResult), and so an expectation can name.
VERDICTS = {"PASS", "FAILS TO INSTALL", "FAILS TO BUILD", "FAILS TO RUN", "REJECTED", "ROWS LOST", "FLAKY",
            "NOT RUNNABLE", "SKIPPED"}
ATTEMPTS = ("newest", "replacement", "older_major", "check")  # a verdict's label, spaces as underscores

# --- docs_expectations.toml -------------------------------------------------------------------------------

_SNIPPET = Table({
    "index": Key(int),  # the position among the page's fenced blocks
    "language": Key(str, ABSENT),  # for the reader; not compared
    "why": Key(str, ABSENT),  # for the reader; not compared
    **{attempt: Key(str, ABSENT, choices=VERDICTS) for attempt in ATTEMPTS},
})
_PAGE = Table({
    "name": Key(str),  # the page's file name
    "no_runnable_snippet": Key(bool, False),
    "snippet": Key(list, [], each=_SNIPPET),
}, label="name")
EXPECTATIONS = Table({"page": Key(list, [], each=_PAGE)})


def load_expectations(path: Path | None = DOCS_EXPECTATIONS) -> dict:
    """{page name: {"no_runnable_snippet": bool, "snippets": {index: {attempt: verdict}}}}; {} without a file."""
    if path is None or not path.exists():
        return {}
    return {page["name"]: {"no_runnable_snippet": page["no_runnable_snippet"],
                           "snippets": {s["index"]: {a: s[a] for a in ATTEMPTS if a in s} for s in page["snippet"]}}
            for page in load_toml(path, EXPECTATIONS)["page"]}


# --- substitutions.toml -----------------------------------------------------------------------------------

def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as error:
        return f"not a regular expression: {error}"
    return None


_SUBSTITUTION = Table({
    "languages": Key(list),
    "find": Key(str, ABSENT),  # a literal text, or
    "pattern": Key(str, ABSENT, check=_regex_problem),  # a Python regular expression
    "replace": Key(str),
    "when": Key(str, "always", choices={"always", "port_moved", "tls"}),
    "tls": Key(bool, False),  # a match means the snippet asks for TLS: it runs against the stub's TLS port
    "why": Key(str),
}, rule=lambda rule: None if ("find" in rule) != ("pattern" in rule) else "one of find and pattern, not both")
SUBSTITUTIONS = Table({"substitution": Key(list, each=_SUBSTITUTION)})


def load_substitutions(path: Path = DOCS_SUBSTITUTIONS) -> list[dict]:
    return load_toml(path, SUBSTITUTIONS)["substitution"]


# --- dependencies.toml ------------------------------------------------------------------------------------

def _shim_problem(name: str) -> str | None:
    return None if (DOCS_SHIMS / name).is_dir() else f"no such folder in {DOCS_SHIMS}"


DEPENDENCIES = Table({
    "python": Key(dict, table=Table({"distributions": Key(dict, {}, values=str)})),  # import name: distribution
    "javascript": Key(dict, table=Table({"replacements": Key(dict, {}, values=Table({
        "shim": Key(str, check=_shim_problem),  # a folder of docs/shims/, copied into node_modules
        "label": Key(str),  # how the second verdict names the replacement
    }))})),
    "go": Key(dict, table=Table({"versions": Key(dict, {}, values=str)})),  # module: version to pin
})


@cache
def dependencies(path: Path = DOCS_DEPENDENCIES) -> dict:
    return load_toml(path, DEPENDENCIES)


# --- known_conf_keys.toml ---------------------------------------------------------------------------------

KINDS = {"path", "boolean", "integer", "size", "ipv4:port", "string"}
CONF_KEYS = Table({
    "keys": Key(dict, values=Table({"meaning": Key(str), "kind": Key(str, choices=KINDS)})),
    "packages": Key(dict, table=Table({"any_platform": Key(list), "needs_root": Key(list)})),
    "platform": Key(list, each=Table({"name": Key(str), "tabs": Key(list), "managers": Key(list)}, label="name")),
})


@cache
def conf_keys(path: Path = DOCS_CONF_KEYS) -> dict:
    return load_toml(path, CONF_KEYS)
