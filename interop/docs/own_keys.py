"""The key pairs a client snippet writes itself, and what the stub serves for them during its run.

A snippet may authenticate with a key id or a private key of its own (kid "admin" with the documented
key, a README's own key). The real server it was written for has that key in its auth file, so the stub
serves it too for the snippet's run, and the report says so. Where the page has its own auth line for
that kid, the page's line is served instead: a snippet whose key does not match the page's auth file is
then rejected, as the server set up by the page would reject it.

Found in config strings (checks/config_string.literal_keys) and in the API calls of own_keys.toml.
"""

from __future__ import annotations

import re
from functools import cache

from server_stub.authdb import parse_auth_db

from .checks.config_string import assigned_string, literal_keys
from .checks.p256 import b64url, public_point, scalar
from .data import load_own_keys

_VALUE = r"""(?:"(?P<{0}dq>[^"\n]*)"|'(?P<{0}sq>[^'\n]*)'|`(?P<{0}bq>[^`$\n]*)`|(?P<{0}name>[A-Za-z_]\w*))"""


@cache
def _apis() -> list[dict]:
    compiled = []
    for api in load_own_keys()["api"]:
        def pattern(text: str) -> re.Pattern:
            return re.compile(text.replace("{kid}", _VALUE.format("kid")).replace("{d}", _VALUE.format("d")))
        parts = [pattern(api["pattern"])] if "pattern" in api else [pattern(api["kid"]), pattern(api["d"])]
        compiled.append({**api, "regexes": parts})
    return compiled


def _resolved(match: re.Match, group: str, code: str, language: str) -> str | None:
    """The literal a placeholder matched, or the string the snippet assigns to the name it matched."""
    for kind in ("dq", "sq", "bq"):
        if match.group(group + kind) is not None:
            return match.group(group + kind)
    return assigned_string(code, language, match.group(group + "name"), match.start())


_TRAILING_COMMENT = re.compile(r"(?<=[,(\s])//[^\n]*")  # `"admin", // token name here` (not the // of a URL)


def _first_resolved(regex: re.Pattern, group: str, code: str, language: str) -> str | None:
    """The first match whose placeholder resolves (`keyId: string` in a TypeScript type does not)."""
    for match in regex.finditer(code):
        if group + "dq" in regex.groupindex:
            value = _resolved(match, group, code, language)
            if value:
                return value
    return None


def api_keys(code: str, language: str) -> list[tuple[str, str, str]]:
    """(kid, d, the API's name) for each key pair of own_keys.toml written in the block."""
    code = _TRAILING_COMMENT.sub("", code)
    found = []
    for api in _apis():
        if language not in api["languages"]:
            continue
        if len(api["regexes"]) == 1:
            match = next((m for m in api["regexes"][0].finditer(code)
                          if _resolved(m, "kid", code, language) and _resolved(m, "d", code, language)), None)
            kid, d = (_resolved(match, "kid", code, language), _resolved(match, "d", code, language)) if match else (None, None)
        else:
            kid, d = _first_resolved(api["regexes"][0], "kid", code, language), \
                _first_resolved(api["regexes"][1], "d", code, language)
        if kid and d and scalar(d) is not None:
            found.append((kid, d, api["name"]))
    return found


def own_keys(code: str, language: str, test_key: dict, page_keys: dict) -> tuple[dict, list[str]]:
    """({kid: authdb key} for the stub to serve during the snippet's run (replacing its own for that kid),
    [notes saying what is served and why]). Nothing for the test key itself."""
    pairs = [(jwk["kid"], jwk["d"], "its config string") for jwk in literal_keys(code, language, test_key)]
    pairs += api_keys(code, language)
    lines, notes, seen = [], [], set()
    for kid, d, where in pairs:
        if kid in seen or (kid == test_key["kid"] and d == test_key["d"]):
            continue
        seen.add(kid)
        if kid in page_keys:
            x_b64, y_b64 = page_keys[kid]
            lines.append(f"{kid} ec-p-256-sha256 {x_b64} {y_b64}")
            notes.append(f"key id {kid!r} ({where}): the stub serves the page's own auth line for it during this run")
            continue
        x, y = public_point(scalar(d))
        lines.append(f"{kid} ec-p-256-sha256 {b64url(x)} {b64url(y)}")
        same_key = d == test_key["d"]
        notes.append(f"key id {kid!r} ({where}) with " + ("the test key's d" if same_key else "a private key of its own")
                     + ": the stub serves it during this run (its public key derived from d), as the server the "
                     "snippet was written for has it in its auth file")
    keys = parse_auth_db("\n".join(lines) + "\n", "<the snippet's own keys>") if lines else {}
    return keys, notes
