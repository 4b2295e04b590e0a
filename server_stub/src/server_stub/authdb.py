"""The ILP/TCP auth file (QuestDB's ``line.tcp.auth.db.path``).

Each non-blank line holds one public key::

    <key id> ec-p-256-sha256 <x> <y>    # optional trailing comment

The rules below follow QuestDB's ``AuthUtils.loadAuthDb`` line for line:

* lines end with ``\\n``, ``\\r\\n`` or ``\\r`` (Java's ``BufferedReader.readLine``);
* tokens are separated by ASCII whitespace (Java's ``\\s``), leading whitespace
  is ignored, and a token that *starts* with ``#`` ends the line;
* a U+0085, U+2028 or U+2029 anywhere after the first token makes the whole
  line read as blank (a quirk of QuestDB's Java regex, see ``_TOKEN``);
* tokens are read left to right: a 5th token is "Too many tokens", 1 to 3
  tokens are "Was expecting 4 tokens";
* the type must be exactly ``ec-p-256-sha256``; key ids are case-sensitive
  and must be unique;
* x and y are base64url (padding optional), read as unsigned big-endian
  integers, and must form a point on P-256.

The first error stops loading and is reported as ``path:line: problem``.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256R1,
    EllipticCurvePublicKey,
    EllipticCurvePublicNumbers,
)

__all__ = [
    "KEY_TYPE",
    "AuthFileError",
    "AuthKey",
    "decode_base64url",
    "load_auth_db",
    "parse_auth_db",
]

KEY_TYPE = "ec-p-256-sha256"
TOKENS_PER_LINE = 4

# Java's BufferedReader.readLine() ends a line at \n, \r\n or a lone \r, and
# nowhere else (unlike str.splitlines(), which also splits on \x0b, \x1c,
# \x85, \u2028, ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# A port of QuestDB's TOKEN_PATTERN, "\s*(\S+)(.*)", applied with matches().
# Two Java details matter:
#   * Java's \s is ASCII only: [ \t\n\x0B\f\r]. Python's \s would also match
#     unicode spaces such as \xa0, so the class is spelled out.
#   * Java's "." does not match the Java line terminators \n, \r, \x85,
#     \u2028 and \u2029, so matches() fails if one of them appears after
#     the current token, and the Java loop then silently stops reading the
#     line. The first match covers the whole line, so such a character
#     anywhere after the first token makes the line read as blank (no
#     error!). The "rest" group below reproduces that.
_JAVA_SPACE = " \t\n\x0b\x0c\r"
_TOKEN = re.compile(rf"[{_JAVA_SPACE}]*([^{_JAVA_SPACE}]+)([^\n\r\x85\u2028\u2029]*)")

_BASE64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class AuthKey:
    """One key loaded from the auth file.

    ``x_b64`` and ``y_b64`` are the coordinate tokens exactly as written in
    the file; ``x`` and ``y`` are their decoded (unsigned) values.
    """

    kid: str
    x: int
    y: int
    line: int
    public_key: EllipticCurvePublicKey
    x_b64: str
    y_b64: str


class AuthFileError(ValueError):
    """The auth file could not be loaded; ``str(e)`` is ``path:line: problem``.

    ``line`` is 1-based, or 0 when the problem is not tied to a line (for
    example, the file cannot be read).
    """

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}")


def decode_base64url(token: str) -> bytes:
    """Decode ``token`` the way Java's ``Base64.getUrlDecoder()`` does.

    Accepted: the alphabet ``A-Z a-z 0-9 - _``, with or without ``=``
    padding. Rejected (``ValueError``): any other character (including ``+``
    and ``/``), wrong padding (``xx=``, ``xxx==``, ``=`` at the start of a
    4-character unit), anything after the padding, and a final unit of a
    single character (``len % 4 == 1``), which cannot hold a whole byte.
    Like Java, unused low bits in the last character are ignored.
    """
    body, sep, padding = token.partition("=")
    padding = sep + padding
    for char in body:
        if char not in _BASE64URL_ALPHABET:
            raise ValueError(f"{char!r} is not a base64url character")
    remainder = len(body) % 4
    if remainder == 1:
        raise ValueError(f"length {len(body)} is not a valid base64 length (the last unit has a single character)")
    if padding:
        # Only "xx==" and "xxx=" are correctly padded final units.
        expected = {2: "==", 3: "="}.get(remainder)
        if padding != expected:
            raise ValueError("incorrect '=' padding")
    # Everything is validated; let the standard library do the arithmetic.
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def parse_auth_db(text: str, path: str = "<auth db>") -> dict[str, AuthKey]:
    """Parse the contents of an auth file into ``{kid: AuthKey}``.

    Keys keep the order of the file. ``path`` is only used in error
    messages. Raises :class:`AuthFileError` on the first bad line.
    """
    keys: dict[str, AuthKey] = {}
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        try:
            tokens = _tokenize(line)
            if tokens:
                key = _parse_key(tokens, number, keys)
                keys[key.kid] = key
        except ValueError as exc:
            raise AuthFileError(path, number, str(exc)) from exc
    return keys


def load_auth_db(path: str | os.PathLike[str]) -> dict[str, AuthKey]:
    """Read and parse the auth file at ``path`` (UTF-8).

    An unreadable file is an :class:`AuthFileError` on line 0; bytes that
    are not valid UTF-8 are an error on the line that holds them.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise AuthFileError(name, 0, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(_LINE_BREAK.split(data[: exc.start].decode("utf-8")))
        raise AuthFileError(name, line, f"invalid UTF-8 at byte offset {exc.start}: {exc.reason}") from exc
    return parse_auth_db(text, name)


def _tokenize(line: str) -> list[str]:
    """Split one line into at most 4 tokens, stopping at a ``#`` token.

    Raises ``ValueError("Too many tokens")`` when a 5th token is met.
    """
    tokens: list[str] = []
    rest = line
    while (match := _TOKEN.fullmatch(rest)) is not None:
        token, rest = match.group(1), match.group(2)
        if token.startswith("#"):
            break
        if len(tokens) == TOKENS_PER_LINE:
            raise ValueError("Too many tokens")
        tokens.append(token)
    return tokens


def _parse_key(tokens: list[str], line: int, seen: dict[str, AuthKey]) -> AuthKey:
    """Check a line's tokens in QuestDB's order and build its :class:`AuthKey`."""
    if len(tokens) != TOKENS_PER_LINE:
        raise ValueError("Was expecting 4 tokens")
    kid, key_type, x_b64, y_b64 = tokens
    if key_type != KEY_TYPE:
        raise ValueError(f"Unrecognized type {key_type}")
    if kid in seen:
        raise ValueError(f"Duplicate keyId {kid}")
    x = _decode_coordinate(kid, "x", x_b64)
    y = _decode_coordinate(kid, "y", y_b64)
    try:
        public_key = EllipticCurvePublicNumbers(x, y, SECP256R1()).public_key()
    except ValueError as exc:
        raise ValueError(f"Invalid public key for keyId {kid}: point (x, y) is not on the P-256 curve") from exc
    return AuthKey(kid, x, y, line, public_key, x_b64, y_b64)


def _decode_coordinate(kid: str, name: str, token: str) -> int:
    """Decode one coordinate token as an unsigned big-endian integer."""
    try:
        raw = decode_base64url(token)
    except ValueError as exc:
        raise ValueError(f"Invalid base64url {name} coordinate for keyId {kid}: {exc}") from exc
    return int.from_bytes(raw, "big")
