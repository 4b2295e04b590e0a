"""server.conf: Java properties judged by the pinned QuestDB jar's own rules, with line.tcp.auth.db.path set.

The jar (server_keys.py) says which keys exist, which are deprecated or obsolete, how each value is parsed
and whether the server would start with the block at all; known_conf_keys.toml adds what the jar cannot
tell (meanings, which values are paths, the prefixes of QuestDB Enterprise's keys). A key the open-source
server ignores (unknown, obsolete, Enterprise-only) is a note, since the measured server logs it and starts
anyway; a value it cannot parse is a failure, since it then refuses to start.
"""

from __future__ import annotations

import difflib
import re

from ..data import conf_keys as _data  # known_conf_keys.toml, checked against its schema
from . import server_keys
from .result import CheckResult

AUTH_DB_KEY = "line.tcp.auth.db.path"


_PROPERTY = re.compile(r"((?:\\.|[^\s=:\\])*)[ \t\f]*([=:]?)[ \t\f]*(.*)")


def _properties(code: str) -> list[tuple[int, str, str, str]]:
    """(line number, key, value, separator) per entry, read like java.util.Properties (continuations, # and !
    comments, '=', ':' or whitespace as separator), minus escapes other than a plain backslash-char. For line
    numbers and separators; the keys and values judged are the ones the jar's Properties read."""
    entries = []
    lines = code.splitlines()
    number = 0
    while number < len(lines):
        start = number
        line = lines[number].lstrip(" \t\f")
        number += 1
        if not line or line[0] in "#!":
            continue
        while line.endswith("\\") and not line.endswith("\\\\") and number < len(lines):
            line = line[:-1] + lines[number].lstrip(" \t\f")
            number += 1
        match = _PROPERTY.fullmatch(line)
        key = re.sub(r"\\(.)", r"\1", match.group(1))
        entries.append((start + 1, key, match.group(3).rstrip(), match.group(2) or " "))
    return entries


def _enterprise(key: str) -> dict | None:
    """The [[enterprise]] entry whose prefix `key` starts with, or None."""
    return next((entry for entry in _data()["enterprise"] if key.startswith(tuple(entry["prefixes"]))), None)


def _ignored_key(key: str, server: server_keys.ServerRules) -> str:
    """Why the open-source server ignores `key`, a key it does not read (unknown, obsolete or Enterprise-only)."""
    version = server.version
    if key in server.obsolete:
        return (f"{key} is obsolete in QuestDB {version} ({server.obsolete[key]}): the server logs it under "
                "'Obsolete settings (no longer recognized)' and starts without it")
    enterprise = _enterprise(key)
    if enterprise:
        return (f"{key} is not known to the open-source server; QuestDB Enterprise reads it ({enterprise['what']}, "
                f"{enterprise['source']}); QuestDB {version} logs it under 'Invalid settings' and starts without it")
    close = difflib.get_close_matches(key, sorted(server.keys), n=1, cutoff=0.8)
    meaning = _data()["keys"].get(close[0], {}).get("meaning") if close else None
    hint = (f"the closest key is {close[0]}" + (f" ({meaning})" if meaning else "")) if close else "no key is close"
    return (f"{key} is not a key of QuestDB {version}: the server logs it under 'Invalid settings (not recognized, "
            f"probable typos)' and starts without it; {hint}")


def _known_key(number: int, key: str, value: str, kind: str | None, server: server_keys.ServerRules,
               notes: list[str]) -> str:
    """The evidence line of a key the jar knows; its notes appended to `notes`."""
    entry = _data()["keys"].get(key, {})
    if key in server.deprecated:
        notes.append(f"line {number}: {key} is deprecated in QuestDB {server.version} ({server.deprecated[key]}): "
                     "the server logs it under 'Deprecated settings' and still reads it")
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            notes.append(f"line {number}: {key}={value}: QuestDB reads any value but 'true' as false")
        if value.lower() != "true" and "when_false" in entry:
            notes.append(f"line {number}: {key}={value} {entry['when_false']}")
    if entry.get("kind") == "path" and key == AUTH_DB_KEY and value:
        # Measured on 9.3.4 (and so written in io.questdb.FactoryProviderImpl): the auth file is
        # new File(parent of the db folder, value), which joins even an absolute value to the root.
        if value.startswith("/"):
            notes.append(f"line {number}: {value} is absolute, but QuestDB joins it to its root folder all the same: "
                         f"it reads e.g. /var/lib/questdb{value}, and refuses to start when that file is missing")
        else:
            notes.append(f"line {number}: {value} is relative: QuestDB resolves it against its root folder "
                         f"(the one holding conf/ and db/, e.g. /var/lib/questdb/{value})")
    shown = entry.get("meaning") or (f"read as {kind}" if kind else f"a key of QuestDB {server.version}")
    return f"line {number}: {key}={value}: {shown}"


def _refusal(built: server_keys.Built, seen: dict[str, int], values: dict[str, str], ignored: dict[str, int]) -> str:
    """The failure line when the server would not start with the block."""
    version, message = built.version, built.message
    named = re.search(r"\[key=([^,\]]+), value=", message)
    if named and named.group(1) in seen:
        key = named.group(1)
        return f"line {seen[key]}: {key}={values[key]}: QuestDB {version} refuses to start: {message}"
    if message.startswith("Configuration issues") and ignored:
        strict = seen.get("config.validation.strict")
        return (f"config.validation.strict=true (line {strict}): QuestDB {version} refuses to start because of "
                f"{', '.join(f'{key} (line {number})' for key, number in ignored.items())}")
    return f"QuestDB {version} refuses to start: {message}"


def check_server_conf(code: str, about_auth: bool = True) -> CheckResult:
    """QuestDB (the pinned jar) starts with the block, and line.tcp.auth.db.path is set; SKIPPED without the jar.

    The auth file must be set when the block is about authentication: ``about_auth`` (its heading says so),
    or a line.tcp.auth key, or a key QuestDB ignores that reads like line.tcp.auth.db.path. Another block (one
    turning ILP over HTTP on, say) gets a note instead."""
    entries = _properties(code)
    if not entries:
        return CheckResult("FAILS TO RUN", "no key=value line")
    try:
        server, built = server_keys.rules(), server_keys.build(code)
    except server_keys.RulesUnavailable as error:
        return CheckResult("SKIPPED", f"cannot read QuestDB's server.conf rules from its jar: {error}")
    failures, lines, notes, seen, values, ignored = [], [], [], {}, {}, {}
    for number, key, value, separator in entries:
        if key in seen:
            notes.append(f"line {number}: {key} is set again (line {seen[key]}); the last value wins")
        if separator != "=":
            shown = "whitespace" if separator == " " else repr(separator)
            notes.append(f"line {number}: {key} is separated from its value by {shown}; Java properties accept "
                         "it, but server.conf is usually written key=value")
        if not key:
            failures.append(f"line {number}: no key before {separator!r}")
            continue
        seen[key] = number
        values[key] = built.properties.get(key, value).strip()  # the server trims every value
    for key, number in seen.items():
        if key in server.keys:
            lines.append(_known_key(number, key, values[key], built.reads.get(key), server, notes))
        else:
            ignored[key] = number
            notes.append(f"line {number}: {_ignored_key(key, server)}")
    if built.outcome == "refused":
        failures.insert(0, _refusal(built, seen, values, ignored))
    elif built.outcome == "error":
        notes.append(f"building QuestDB {server.version}'s configuration from this block stopped on something "
                     f"else than a value: {built.message}; the keys it reads after that were not checked")
    close = [f"line {n} sets {key}, which QuestDB ignores" for key, n in ignored.items()
             if difflib.SequenceMatcher(None, key, AUTH_DB_KEY).ratio() >= 0.8]
    about_auth = about_auth or bool(close) or any(key.startswith("line.tcp.auth") for key in seen)
    if AUTH_DB_KEY not in seen and not about_auth:
        notes.append(f"{AUTH_DB_KEY} is not set: fine for this block, which is not about authentication, but a "
                     "server with only these lines accepts ILP/TCP connections without any")
    elif AUTH_DB_KEY not in seen:
        failures.append(f"{AUTH_DB_KEY} is not set: without it QuestDB accepts ILP/TCP connections without any "
                        "authentication" + (f" ({'; '.join(close)}: a misspelling of it?)" if close else ""))
    elif not values[AUTH_DB_KEY]:
        failures.append(f"line {seen[AUTH_DB_KEY]}: {AUTH_DB_KEY} is empty: it names no auth file")
    substitutions = [f"{key}={old} -> a folder in the check's temporary root (building QuestDB's configuration "
                     "creates it)" for key, (old, _) in built.substituted.items()]
    if failures:
        summary = failures[0] if len(failures) == 1 else f"{len(failures)} problems: {failures[0]}; ..."
        return CheckResult("FAILS TO RUN", "\n".join([summary, *failures[1:], *lines]), notes, substitutions)
    skipped = f"; it ignores {len(ignored)} key(s), see the notes" if ignored else ""
    summary = (f"{AUTH_DB_KEY} is set and " if AUTH_DB_KEY in seen else "") + \
        f"QuestDB {server.version} starts with this server.conf{skipped}"
    return CheckResult("PASS", "\n".join([summary, *lines]), notes, substitutions)
