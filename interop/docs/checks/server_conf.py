"""server.conf: Java properties whose keys QuestDB knows, with line.tcp.auth.db.path set."""

from __future__ import annotations

import difflib
import re

from ...paths import DOCS_CONF_KEYS as DATA
from ..data import conf_keys as _data  # known_conf_keys.toml, checked against its schema
from .result import CheckResult

AUTH_DB_KEY = "line.tcp.auth.db.path"


_PROPERTY = re.compile(r"((?:\\.|[^\s=:\\])*)[ \t\f]*([=:]?)[ \t\f]*(.*)")


def _properties(code: str) -> list[tuple[int, str, str, str]]:
    """(line number, key, value, separator) per entry, read like java.util.Properties (continuations, # and !
    comments, '=', ':' or whitespace as separator), minus escapes other than a plain backslash-char."""
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


def _value_problem(kind: str, value: str) -> str | None:
    """Why QuestDB cannot read ``value`` as ``kind`` (it then refuses to start), or None."""
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return "is not an integer"
    if kind == "size" and not re.fullmatch(r"\d+[kKmMgG]?", value):
        return "is not a size (digits with an optional k, m or g)"
    if kind == "ipv4:port":
        match = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})", value)
        if not match or any(int(part) > 255 for part in match.groups()[:4]) or int(match.group(5)) > 65535:
            return "is not an IPv4 address and port such as 0.0.0.0:9009"
    if kind == "path" and not value:
        return "is empty"
    return None


def check_server_conf(code: str) -> CheckResult:
    """Every key is a known server.conf key (known_conf_keys.toml) and line.tcp.auth.db.path is set."""
    known = _data()["keys"]
    entries = _properties(code)
    if not entries:
        return CheckResult("FAILS TO RUN", "no key=value line")
    failures, lines, notes, seen = [], [], [], {}
    for number, key, value, separator in entries:
        if key in seen:
            notes.append(f"line {number}: {key} is set again (line {seen[key]}); the last value wins")
        seen[key] = number
        if separator != "=":
            shown = "whitespace" if separator == " " else repr(separator)
            notes.append(f"line {number}: {key} is separated from its value by {shown}; Java properties accept "
                         "it, but server.conf is usually written key=value")
        if not key:
            failures.append(f"line {number}: no key before {separator!r}")
            continue
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = (f"the closest known key is {close[0]} ({known[close[0]]['meaning']})" if close
                    else "no known key is close")
            failures.append(f"line {number}: unknown key {key!r}; {hint}")
            continue
        kind = known[key]["kind"]
        problem = _value_problem(kind, value)
        if problem:
            failures.append(f"line {number}: {key}={value} {problem}: QuestDB refuses to start")
            continue
        lines.append(f"line {number}: {key}={value}: {known[key]['meaning']}")
        if kind == "boolean" and value.lower() not in ("true", "false"):
            notes.append(f"line {number}: {key}={value}: QuestDB reads any value but 'true' as false")
        if key == "line.tcp.enabled" and value.lower() != "true":
            notes.append(f"line {number}: {key}={value} turns the ILP/TCP endpoint off: no client can connect")
        if key == AUTH_DB_KEY and value and not value.startswith("/"):
            notes.append(f"line {number}: {value} is relative: QuestDB resolves it against its root folder "
                         f"(the one holding conf/ and db/, e.g. /var/lib/questdb/{value})")
    if AUTH_DB_KEY not in seen and not failures:
        failures.append(f"{AUTH_DB_KEY} is not set: without it QuestDB accepts ILP/TCP connections "
                        "without any authentication")
    if failures:
        summary = failures[0] if len(failures) == 1 else f"{len(failures)} problems: {failures[0]}; ..."
        tail = [(f"(known keys: the {len(known)} of {DATA.name}, which lists the keys that matter here, "
                 "not every QuestDB key)")] if any("unknown key" in f for f in failures) else []
        return CheckResult("FAILS TO RUN", "\n".join([summary, *failures[1:], *tail]), notes)
    return CheckResult("PASS", "\n".join([f"{AUTH_DB_KEY} is set and every key is a known server.conf key",
                                          *lines]), notes)
