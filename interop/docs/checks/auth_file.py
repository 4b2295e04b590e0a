"""The auth file: QuestDB's `<kid> ec-p-256-sha256 <x> <y>` lines, loaded with the server's own rules."""

from __future__ import annotations

import re

from server_stub.authdb import KEY_TYPE, AuthFileError, decode_base64url, parse_auth_db

from .result import COMMENT, COORDINATE_BYTES, CheckResult


def _tokens(line: str) -> list[str]:
    """A line's whitespace-separated tokens up to the first one starting with '#' (a comment)."""
    tokens = []
    for token in line.split():
        if token.startswith("#"):
            break
        tokens.append(token)
    return tokens


def looks_like_auth_file(code: str) -> bool:
    """True when every non-blank, non-comment line is a key line: "ec-p-256-sha256" as its second token.

    Lines with the type second but a wrong token count (3 or 5 tokens) still count, so that a broken auth
    file is checked as one (and its error reported) rather than taken for a shell script.
    """
    key_lines = [tokens for tokens in map(_tokens, code.splitlines()) if tokens]
    return bool(key_lines) and all(len(tokens) >= 2 and tokens[1] == KEY_TYPE for tokens in key_lines)


def check_auth_lines(code: str) -> CheckResult:
    """Load the snippet with QuestDB's auth-file rules (server_stub.authdb.parse_auth_db)."""
    try:
        keys = parse_auth_db(code, "<snippet>")
    except AuthFileError as error:
        return CheckResult("FAILS TO RUN", f"line {error.line}: {error.problem}\n"
                           "loaded with QuestDB's auth-file rules: a server given this file refuses to start")
    if not keys:
        return CheckResult("FAILS TO RUN", "no key line: an auth file needs '<kid> ec-p-256-sha256 <x> <y>' lines")
    notes = []
    for key in keys.values():
        for name, token in (("x", key.x_b64), ("y", key.y_b64)):
            size = len(decode_base64url(token))
            if "=" in token:
                notes.append(f"{key.kid}: {name} has '=' padding; QuestDB accepts it, but a JWK's {name} is unpadded")
            if size != COORDINATE_BYTES:
                notes.append(f"{key.kid}: {name} is {size} bytes, not {COORDINATE_BYTES}; QuestDB accepts it, but a "
                             f"JWK built from this line needs exactly {COORDINATE_BYTES}")
    listed = ", ".join(f"{kid} (line {key.line})" for kid, key in keys.items())
    return CheckResult("PASS", f"{len(keys)} key(s) load with QuestDB's auth-file rules: {listed}", notes)


# Something that reads as a literal auth line: no shell variables, quotes or backticks in its tokens.
_LITERAL_AUTH = re.compile(
    r"(?:^|(?<=[\s\"'`]))([^\s\"'`$#][^\s\"'`$]*)[ \t]+" + re.escape(KEY_TYPE)
    + r"[ \t]+([^\s\"'`$]+)[ \t]+([^\s\"'`$]+)(?=$|[\s\"'`])")

def auth_keys_on_page(codes: list[str]) -> dict:
    """{kid: (x_b64, y_b64)} from every literal auth line on the page (auth-file snippets, or a line
    echoed by a script); lines built from shell variables (`echo "$KID ec-p-256-sha256 $X $Y"`) and
    placeholders that are not base64url are ignored. The first line for a kid wins."""
    found: dict[str, tuple[str, str]] = {}
    for code in codes:
        for line in code.splitlines():
            for match in _LITERAL_AUTH.finditer(COMMENT.sub("", line)):
                kid, x_b64, y_b64 = match.groups()
                try:
                    decode_base64url(x_b64), decode_base64url(y_b64)
                except ValueError:
                    continue
                found.setdefault(kid, (x_b64, y_b64))
    return found
