"""Key tooling: client JWKs, auth-file lines and the ``keys`` CLI command.

A client key is a JWK of this shape (the format QuestDB's docs and clients
use)::

    {"kty": "EC", "crv": "P-256", "kid": "<key id>",
     "d": "<private scalar>", "x": "<x coordinate>", "y": "<y coordinate>"}

where d, x and y are unpadded base64url encodings of exactly 32 bytes
(43 characters). The server only ever sees the public half, as one line of
the auth file: ``<kid> ec-p-256-sha256 <x> <y>``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256R1,
    EllipticCurvePrivateKey,
    derive_private_key,
    generate_private_key,
)

from .authdb import KEY_TYPE, AuthFileError, decode_base64url, load_auth_db

__all__ = [
    "add_keys_commands",
    "auth_line",
    "generate_jwk",
    "load_jwk",
    "private_key_from_jwk",
    "validate_kid",
    "write_keypair",
]

COORDINATE_BYTES = 32  # P-256 scalars and coordinates
COORDINATE_CHARS = 43  # len of unpadded base64url of 32 bytes

# Characters QuestDB's auth-file tokenizer treats as separators (Java's \s)
# or as line ends (BufferedReader, and Java's regex "."). A key id holding
# any of them cannot round-trip through the auth file.
_NOT_IN_TOKEN = frozenset(" \t\n\x0b\x0c\r\x85\u2028\u2029")


def validate_kid(kid: str) -> None:
    """Raise ``ValueError`` unless ``kid`` is usable as an auth-file token
    *and* as a file name.

    Refused: empty, any whitespace, a leading ``#`` (it would read as a
    comment), ``/``, ``\\``, NUL, and the names ``.`` and ``..``.
    """
    _check_kid_token(kid)
    if any(char.isspace() for char in kid):
        raise ValueError(f"key id {kid!r} contains whitespace")
    for char, label in (("/", "'/'"), ("\\", "'\\'"), ("\0", "NUL")):
        if char in kid:
            raise ValueError(f"key id {kid!r} contains {label}")
    if kid in (".", ".."):
        raise ValueError(f"key id {kid!r} is not usable as a file name")


def generate_jwk(kid: str) -> dict:
    """Return a fresh P-256 key pair as a JWK dict with the given ``kid``.

    ``kid`` is not checked here (tests may want odd ids); :func:`auth_line`
    and :func:`write_keypair` check it.
    """
    private_key = generate_private_key(SECP256R1())
    numbers = private_key.private_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "d": _b64url_32(numbers.private_value),
        "x": _b64url_32(numbers.public_numbers.x),
        "y": _b64url_32(numbers.public_numbers.y),
    }


def auth_line(jwk: dict) -> str:
    """Return the auth-file line for ``jwk``: ``"<kid> ec-p-256-sha256 <x> <y>"``.

    Raises ``ValueError`` if the kid cannot be an auth-file token.
    """
    kid = jwk["kid"]
    _check_kid_token(kid)
    return f"{kid} {KEY_TYPE} {jwk['x']} {jwk['y']}"


def load_jwk(path: str | os.PathLike[str]) -> dict:
    """Read a JWK file, validate it fully and return it as a dict.

    Checks kty, crv, kid, the encoding of d, x and y, and that d·G == (x, y).
    Any problem is a ``ValueError`` that names the file.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as file:
            jwk = json.load(file)
    except OSError as exc:
        raise ValueError(f"{name}: cannot read JWK file: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{name}: not a JSON file: {exc}") from exc
    try:
        _checked_private_key(jwk)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc
    return jwk


def private_key_from_jwk(jwk: dict) -> EllipticCurvePrivateKey:
    """Return the private key of ``jwk`` after the same checks as :func:`load_jwk`."""
    return _checked_private_key(jwk)


def write_keypair(kid: str, out_dir: str | os.PathLike[str]) -> tuple[Path, Path, str]:
    """Generate a key and write ``<kid>.jwk.json`` and ``<kid>.auth.txt`` in ``out_dir``.

    The JWK file is created with mode 0600 from the start (never readable by
    others, even briefly); the auth file holds the auth line and a newline.
    ``out_dir`` is created if missing. Existing files are never overwritten:
    ``FileExistsError`` is raised and nothing is written.
    Returns ``(jwk_path, auth_path, auth_line)``.
    """
    validate_kid(kid)
    out = Path(out_dir)
    jwk_path = out / f"{kid}.jwk.json"
    auth_path = out / f"{kid}.auth.txt"
    existing = [str(p) for p in (jwk_path, auth_path) if os.path.lexists(p)]
    if existing:
        raise FileExistsError(f"refusing to overwrite existing file(s): {', '.join(existing)}")

    out.mkdir(parents=True, exist_ok=True)
    jwk = generate_jwk(kid)
    line = auth_line(jwk)
    _write_new_file(jwk_path, json.dumps(jwk, indent=2) + "\n", mode=0o600)
    try:
        _write_new_file(auth_path, line + "\n", mode=0o644)
    except BaseException:
        # Don't leave a private key behind without its auth line.
        jwk_path.unlink()
        raise
    return jwk_path, auth_path, line


def add_keys_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``keys`` command (``keys gen``, ``keys check``) to ``subparsers``.

    Each leaf command sets ``args.func``, a function ``(args) -> exit code``.
    """
    keys = subparsers.add_parser(
        "keys",
        help="generate client keys and check auth files",
        description="Generate client keys and check auth files.",
    )
    commands = keys.add_subparsers(dest="keys_command", required=True)

    gen = commands.add_parser(
        "gen",
        help="generate a key pair",
        description="Write OUT/KID.jwk.json (private, mode 0600) and OUT/KID.auth.txt, "
        "then print the auth-file line. Exit 1 if refused.",
    )
    gen.add_argument("--kid", required=True, help="key id (a single token, usable as a file name)")
    gen.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
    gen.set_defaults(func=_cmd_gen)

    check = commands.add_parser(
        "check",
        help="validate an auth file and list its keys",
        description="Load an auth file with the server's rules. Exit 2 if it is invalid.",
    )
    check.add_argument("file", help="auth file (line.tcp.auth.db.path)")
    check.set_defaults(func=_cmd_check)


def _cmd_gen(args: argparse.Namespace) -> int:
    """``keys gen``: auth line on stdout, file paths on stderr."""
    try:
        jwk_path, auth_path, line = write_keypair(args.kid, args.out)
    except (ValueError, OSError) as exc:  # bad kid, existing file, I/O error
        print(f"keys gen: {exc}", file=sys.stderr)
        return 1
    print(line)
    print(f"private key (JWK, keep secret): {jwk_path}", file=sys.stderr)
    print(f"auth-file line:                 {auth_path}", file=sys.stderr)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """``keys check``: one line per key and a final count, or exit 2."""
    try:
        keys = load_auth_db(args.file)
    except AuthFileError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for key in keys.values():
        notes = _length_note("x", key.x_b64) + _length_note("y", key.y_b64)
        print(f"{key.kid}  line {key.line}  x={key.x_b64}  y={key.y_b64}{notes}")
    print(f"{len(keys)} keys OK")
    return 0


def _length_note(name: str, token: str) -> str:
    """A note for a coordinate that is not encoded as exactly 32 bytes."""
    size = len(decode_base64url(token))
    if size == COORDINATE_BYTES:
        return ""
    if size == COORDINATE_BYTES + 1:
        # Only a leading 0x00 byte can make 33 bytes a valid P-256 coordinate.
        return f"  ({size}-byte {name} with leading zero)"
    return f"  ({size}-byte {name})"


def _check_kid_token(kid: object) -> None:
    """Raise ``ValueError`` unless ``kid`` reads back as one auth-file token."""
    if not isinstance(kid, str) or not kid:
        raise ValueError("key id must be a non-empty string")
    if any(char in _NOT_IN_TOKEN for char in kid):
        raise ValueError(f"key id {kid!r} contains whitespace or a line break")
    if kid.startswith("#"):
        raise ValueError(f"key id {kid!r} starts with '#' (it would read as a comment)")


def _checked_private_key(jwk: object) -> EllipticCurvePrivateKey:
    """Validate a JWK dict and return its private key; ``ValueError`` otherwise."""
    if not isinstance(jwk, dict):
        # Bad file content rather than a caller bug, hence ValueError.
        raise ValueError("JWK must be a JSON object")  # noqa: TRY004
    for member, expected in (("kty", "EC"), ("crv", "P-256")):
        if jwk.get(member) != expected:
            raise ValueError(f"JWK {member!r} must be {expected!r}, got {jwk.get(member)!r}")
    try:
        _check_kid_token(jwk.get("kid"))
    except ValueError as exc:
        raise ValueError(f"JWK 'kid': {exc}") from exc
    d, x, y = (_jwk_integer(jwk, member) for member in ("d", "x", "y"))
    try:
        private_key = derive_private_key(d, SECP256R1())
    except ValueError as exc:
        raise ValueError(f"JWK 'd' is not a valid P-256 private scalar: {exc}") from exc
    public = private_key.public_key().public_numbers()
    if (public.x, public.y) != (x, y):
        raise ValueError("JWK 'd' does not match 'x'/'y' (d·G != (x, y))")
    return private_key


def _jwk_integer(jwk: dict, member: str) -> int:
    """Decode JWK member ``d``, ``x`` or ``y``: unpadded base64url of 32 bytes."""
    value = jwk.get(member)
    if not isinstance(value, str) or len(value) != COORDINATE_CHARS or "=" in value:
        # Describe what we got without echoing it: 'd' is the private key.
        if value is None:
            got = "nothing"
        elif isinstance(value, str):
            got = f"{len(value)} characters" + (" with '=' padding" * ("=" in value))
        else:
            got = f"a JSON {type(value).__name__}"
        raise ValueError(
            f"JWK {member!r} must be {COORDINATE_CHARS} characters of unpadded base64url (32 bytes), got {got}"
        )
    try:
        raw = decode_base64url(value)
    except ValueError as exc:
        raise ValueError(f"JWK {member!r} is not base64url: {exc}") from exc
    return int.from_bytes(raw, "big")


def _b64url_32(value: int) -> str:
    """Encode ``value`` as 32 big-endian bytes in unpadded base64url."""
    raw = value.to_bytes(COORDINATE_BYTES, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _write_new_file(path: Path, text: str, mode: int) -> None:
    """Create ``path`` (it must not exist) with permission bits exactly ``mode``.

    O_EXCL makes creation fail if the file (or a symlink) already exists, and
    the mode is applied at creation, so the file is never more open than
    ``mode``. fchmod then undoes any extra restriction a umask added.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            fd = -1  # now owned (and closed) by the file object
            file.write(text)
    except BaseException:
        if fd != -1:
            os.close(fd)
        path.unlink()  # we created it, so a half-written file is ours to remove
        raise
