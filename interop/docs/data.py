"""The docs check's data files, each with its schema and loader: the expectations (docs_expectations.toml),
the substitutions, the dependencies and the known server.conf keys. What each key means is written at
the top of each file; the schemas say which keys exist, their types and their defaults."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ..datafile import ABSENT, DataFileError, Key, Table, entry_name, load_toml
from ..paths import (
    DOCS_CLASSIFICATION,
    DOCS_CONF_KEYS,
    DOCS_DEPENDENCIES,
    DOCS_EXPECTATIONS,
    DOCS_FIXES,
    DOCS_OWN_KEYS,
    DOCS_SHIMS,
    DOCS_SUBSTITUTIONS,
)

# Every verdict an attempt can get (repeat.Verdict, checks.CheckResult), and so an expectation can name.
FAILURES = ("FAILS TO INSTALL", "FAILS TO BUILD", "FAILS TO RUN", "REJECTED", "ROWS LOST", "FLAKY")
VERDICTS = {"PASS", *FAILURES, "SKIPPED"}
# A verdict's label, spaces as underscores: the snippet as a reader runs it (newest), its second attempts
# (a declared replacement, the older major it was written for, the smallest fix of a fault that has
# nothing to do with authentication, install scripts on), a checked block (check), a config string (config).
ATTEMPTS = ("newest", "replacement", "older_major", "fixed", "scripts", "check", "config")

# --- docs_expectations.toml -------------------------------------------------------------------------------


class ExpectationsError(DataFileError):
    """Two entries of docs_expectations.toml that name the same snippet."""


def _digest_problem(digest: str) -> str | None:
    return None if re.fullmatch(r"[0-9a-f]{12}", digest) else "expected 12 lowercase hex digits (extract.content_digest)"


def _snippet_problem(entry: dict) -> str | None:
    attempts = [a for a in ATTEMPTS if a in entry]
    if not attempts:
        return f"no verdict: give at least one of {', '.join(ATTEMPTS)}"
    failing = [a for a in attempts if entry[a] in FAILURES]
    if failing and not entry.get("why", "").strip():
        return f"{failing[0]} = {entry[failing[0]]!r} is an expected failure: it needs a why"
    return None


_SNIPPET = Table({
    "heading": Key(str),  # the nearest Markdown heading above the block ("" before the first)
    "language": Key(str),  # the block's normalised language ("" when unlabelled)
    "digest": Key(str, check=_digest_problem),  # of the block's content
    "occurrence": Key(int, 1),  # the nth block on the page with the same heading, language and digest
    "why": Key(str, ABSENT),  # what the verdict means for the page; required for an expected failure
    **{attempt: Key(str, ABSENT, choices=VERDICTS) for attempt in ATTEMPTS},
}, label="heading", rule=_snippet_problem)
_PAGE = Table({
    "name": Key(str),  # the page's file name
    "why": Key(str, ABSENT),  # for the reader: a page without snippets, say
    "snippet": Key(list, [], each=_SNIPPET),
}, label="name")
EXPECTATIONS = Table({"page": Key(list, [], each=_PAGE)})


def snippet_key(entry: dict) -> tuple[str, str, str, int]:
    """What names a snippet in the expectations: (heading, language, digest, occurrence)."""
    return entry["heading"], entry["language"], entry["digest"], entry["occurrence"]


def load_expectations(path: Path | None = DOCS_EXPECTATIONS) -> dict:
    """{page name: {"why": str | None, "snippets": {snippet_key: {"why": str | None, attempt: verdict}}}};
    {} without a file."""
    if path is None or not path.exists():
        return {}
    pages: dict = {}
    for number, page in enumerate(load_toml(path, EXPECTATIONS)["page"], 1):
        where = f"{path}: {entry_name('page', number, page, 'name')}"
        if page["name"] in pages:
            raise ExpectationsError(f"{where}: a second entry for the page")
        snippets: dict = {}
        for index, entry in enumerate(page["snippet"], 1):
            key = snippet_key(entry)
            if key in snippets:
                raise ExpectationsError(f"{where}: {entry_name('snippet', index, entry, 'heading')}: the same heading, "
                                        "language, digest and occurrence as an earlier entry")
            snippets[key] = {"why": entry.get("why"), **{a: entry[a] for a in ATTEMPTS if a in entry}}
        pages[page["name"]] = {"why": page.get("why"), "snippets": snippets}
    return pages


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


# --- classify.toml ---------------------------------------------------------------------------------------

def _patterns_problem(patterns: list) -> str | None:
    for pattern in patterns:
        problem = _regex_problem(pattern) if isinstance(pattern, str) else f"{pattern!r} is not a string"
        if problem:
            return f"{pattern!r}: {problem}"
    return None


_PATTERNS = Key(list, check=_patterns_problem)
CLASSIFICATION = Table({
    "transport": Key(list, each=Table({
        "name": Key(str),
        "tcp": Key(bool),  # ILP over TCP: run; else SKIPPED, "not ILP/TCP"
        "strength": Key(str, choices={"strong", "weak"}),
        "languages": Key(list, []),  # [] = every language
        "patterns": _PATTERNS,
    }, label="name")),
    "library": Key(dict, table=Table({"patterns": _PATTERNS})),  # the official clients' imports
    "auth": Key(list, each=Table({"patterns": _PATTERNS})),
    "elisions": Key(dict, table=Table({"lines": _PATTERNS, "inline": _PATTERNS})),
    "languages": Key(dict, {}, values=str),  # a language never run: the SKIPPED reason
})


@cache
def load_classification(path: Path = DOCS_CLASSIFICATION) -> dict:
    return load_toml(path, CLASSIFICATION)


# --- fixes.toml ------------------------------------------------------------------------------------------

FIXES = Table({
    "fix": Key(list, each=Table({
        "language": Key(str),
        "error": Key(str, check=_regex_problem),  # searched in the failed attempt's evidence; group `name`
        "action": Key(str, choices={"drop_import", "add_import"}),
        "why": Key(str),  # {name} is replaced
    }, label="language", rule=lambda fix: None if "(?P<name>" in fix["error"] else "error has no group `name`")),
    "imports": Key(dict, {}),  # language -> {name: import line}; javascript -> {esm: {...}, cjs: {...}}
})


@cache
def load_fixes(path: Path = DOCS_FIXES) -> dict:
    return load_toml(path, FIXES)


# --- own_keys.toml ----------------------------------------------------------------------------------------

def _own_key_problem(api: dict) -> str | None:
    if ("pattern" in api) == ("kid" in api or "d" in api) or ("pattern" not in api and not ("kid" in api and "d" in api)):
        return "give pattern, or kid and d"
    texts = [api["pattern"]] if "pattern" in api else [api["kid"], api["d"]]
    missing = [p for p in ("{kid}", "{d}") if not any(p in text for text in texts)]
    return f"no {' nor '.join(missing)} placeholder" if missing else None


OWN_KEYS = Table({"api": Key(list, each=Table({
    "name": Key(str),
    "languages": Key(list),
    "pattern": Key(str, ABSENT),  # with {kid} and {d}
    "kid": Key(str, ABSENT),  # or two patterns searched apart
    "d": Key(str, ABSENT),
}, label="name", rule=_own_key_problem))})


@cache
def load_own_keys(path: Path = DOCS_OWN_KEYS) -> dict:
    return load_toml(path, OWN_KEYS)


# --- dependencies.toml ------------------------------------------------------------------------------------

def _shim_problem(name: str) -> str | None:
    return None if (DOCS_SHIMS / name).is_dir() else f"no such folder in {DOCS_SHIMS}"


DEPENDENCIES = Table({
    "python": Key(dict, table=Table({"distributions": Key(dict, {}, values=str)})),  # import name: distribution
    "javascript": Key(dict, table=Table({"replacements": Key(dict, {}, values=Table({
        "shim": Key(str, check=_shim_problem),  # a folder of docs/shims/, copied into node_modules
        "label": Key(str),  # how the second verdict names the replacement
    })), "stripper": Key(dict, table=Table({"typescript": Key(str)}))})),  # the TypeScript stripper's exact npm version
    "go": Key(dict, table=Table({"versions": Key(dict, {}, values=str)})),  # module: version to pin
    "java": Key(dict, table=Table({  # clients/java.py
        "dependency_plugin": Key(str),  # groupId:artifactId:version of the Maven plugin that resolves
        "rule": Key(list, each=Table({  # the first rule one of a snippet's io.questdb names matches wins
            "prefix": Key(str), "except": Key(list, []), "artifact": Key(str), "why": Key(str)}, label="artifact")),
        "predecessors": Key(dict, {}, values=str),  # artifact: the artifact whose jars held its classes before
        "java_options": Key(dict, {}, values=list),  # artifact: JVM options its classes need on Java 17
    })),
    "rust": Key(dict, table=Table({
        "edition": Key(str, choices={"2015", "2018", "2021", "2024"}),  # of the snippet's Cargo package
        "crates": Key(dict, {}, values=str),  # import name: crates.io crate
        "features": Key(dict, {}, values=dict),  # crate: {major: [features]}, default features off
        "companions": Key(dict, {}, values=list),  # crate a snippet uses: names of the feature integrating it
    })),
})


@cache
def dependencies(path: Path = DOCS_DEPENDENCIES) -> dict:
    return load_toml(path, DEPENDENCIES)


# --- known_conf_keys.toml ---------------------------------------------------------------------------------

# [keys] holds only what the jar cannot tell (checks/server_keys.py reads the rest from it); [[enterprise]] the
# prefixes of QuestDB Enterprise's keys, each with the documentation page that says so.
KINDS = {"path"}
CONF_KEYS = Table({
    "keys": Key(dict, values=Table({"meaning": Key(str), "kind": Key(str, ABSENT, choices=KINDS),
                                    "when_false": Key(str, ABSENT)})),
    "enterprise": Key(list, [], each=Table({
        "what": Key(str),  # the Enterprise feature the keys configure
        "prefixes": Key(list, check=lambda prefixes: None if prefixes and all(
            isinstance(p, str) and p.endswith(".") for p in prefixes) else "expected key prefixes ending with '.'"),
        "source": Key(str, check=lambda url: None if url.startswith("https://") else "expected an https:// page"),
    }, label="what")),
    "packages": Key(dict, table=Table({"any_platform": Key(list), "needs_root": Key(list)})),
    "platform": Key(list, each=Table({"name": Key(str), "tabs": Key(list), "managers": Key(list)}, label="name")),
})


@cache
def conf_keys(path: Path = DOCS_CONF_KEYS) -> dict:
    return load_toml(path, CONF_KEYS)


# --- config_rules.toml ------------------------------------------------------------------------------------
# How each official client reads an ILP/TCP config string (checks/config_string.py); every rule says how it
# is known (measured, or the source file), and tests/test_config_rules_measured.py measures the Python and
# Node entries again.

CONFIG_RULES_FILE = Path(__file__).with_name("config_rules.toml")
CONFIG_RULES_KNOWN = ("parser", "schemes", "keys", "tls_keys", "tcp_refused", "unknown_key", "duplicate_key",
                      "key_syntax", "empty_value", "control_chars", "addr_required", "auth", "escape")
CONFIG_MESSAGES = ("scheme", "unknown_key", "duplicate_key", "key_syntax", "empty_value", "control_char",
                   "missing_equals", "missing_addr", "auth", "tls_on_tcp", "requires")


def _known_problem(known: dict) -> str | None:
    missing = [rule for rule in CONFIG_RULES_KNOWN if rule not in known]
    vague = [rule for rule, how in known.items() if not how.startswith(("measured: ", "source: "))]
    if missing:
        return f"no 'known' for {missing}: say how each rule is known"
    return f"known.{vague[0]} must start with 'measured: ' or 'source: '" if vague else None


def _client_rules_problem(client: dict) -> str | None:
    problem = _known_problem(client["known"])
    if problem:
        return problem
    if client["ignored_keys"] and "ignored_keys" not in client["known"]:
        return "ignored_keys needs known.ignored_keys"
    for rule, value, refusing in (("unknown_key", client["unknown_key"], "refused"),
                                  ("duplicate_key", client["duplicate_key"], "refused"),
                                  ("empty_value", client["empty_value"], "refused"),
                                  ("control_char", client["control_chars"], "refused")):
        if value == refusing and not client["messages"][rule]:
            return f"messages.{rule} is empty, but the client refuses it"
    if client["tls_keys"] and not client["messages"]["tls_on_tcp"]:
        return "messages.tls_on_tcp is empty, but tls_keys are refused over tcp::"
    return None


_CONFIG_CLIENT = Table({
    "label": Key(str),
    "version": Key(str),
    "languages": Key(list),
    "schemes": Key(list),
    "scheme_case": Key(str, "sensitive", choices={"sensitive", "insensitive"}),
    "keys": Key(list),
    "tls_keys": Key(list, []),
    "tcp_refused": Key(dict, {}, values=str),
    "tcp_refused_values": Key(dict, {}, values=str),  # "key=value" (or "tcp::key=value"): the client's error
    "requires": Key(dict, {}, values=str),  # key: the key it needs beside it (messages.requires)
    "value_choices": Key(dict, {}, values=Table({"values": Key(list), "message": Key(str)})),  # key: its values
    "integer_keys": Key(dict, {}, values=Table({"message": Key(str), "words": Key(list, [])})),  # and words
    "integer_spaces": Key(str, "refused", choices={"allowed", "refused"}),
    "tcp_allowed_values": Key(list, []),  # "key=value" accepted over TCP although the key is in tcp_refused
    "unknown_key": Key(str, choices={"ignored", "refused"}),
    "duplicate_key": Key(str, choices={"refused", "last_wins"}),
    "duplicate_allowed": Key(list, []),
    "duplicate_refused": Key(list, []),
    "key_syntax": Key(str, choices={"word", "free"}),
    "empty_value": Key(str, choices={"allowed", "refused"}),
    "control_chars": Key(str, choices={"allowed", "refused"}),
    "addr_required": Key(bool),
    "auth_trigger": Key(list),
    "auth_required": Key(list),
    "ignored_keys": Key(list, []),
    "messages": Key(dict, table=Table({name: Key(str, "") if name == "requires" else Key(str)
                                       for name in CONFIG_MESSAGES})),
    "known": Key(dict, values=str),  # rule: how it is known (_known_problem)
}, rule=_client_rules_problem)
CONFIG_RULES = Table({"client": Key(dict, values=_CONFIG_CLIENT)})


@cache
def config_rules(path: Path = CONFIG_RULES_FILE) -> dict:
    """{client name: its rules}, every default filled in (see the top of config_rules.toml)."""
    return load_toml(path, CONFIG_RULES)["client"]
