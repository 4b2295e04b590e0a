"""The JWK: a P-256 private key whose d matches its x/y, and whose x/y are the page's auth line for its kid."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import ec
from server_stub.authdb import decode_base64url

from .p256 import b64url
from .result import COORDINATE_BYTES, CheckResult


def _jwk_scalar(jwk: dict, member: str) -> tuple[int | None, str | None]:
    """(value, None) for a well-formed d, x or y (43 characters of unpadded base64url), else (None, problem)."""
    value = jwk.get(member)
    if value is None:
        what = "no private key: a client cannot sign" if member == "d" else "no public coordinate"
        return None, f"no {member!r} member ({what})"
    if not isinstance(value, str):
        return None, f"{member!r} is a JSON {type(value).__name__}, not a base64url string"
    try:
        raw = decode_base64url(value)
    except ValueError as error:
        return None, f"{member!r} is not base64url: {error}"
    if "=" in value or len(raw) != COORDINATE_BYTES:
        return None, (f"{member!r} must be {COORDINATE_BYTES} bytes as 43 characters of unpadded base64url "
                      f"(RFC 7518), got {len(value)} characters ({len(raw)} bytes)")
    return int.from_bytes(raw, "big"), None


def check_jwk(code: str, page_auth_keys: dict) -> CheckResult:
    """The snippet is a P-256 JWK whose d matches its x/y, and whose x/y are the page's auth line for its kid.

    A mismatch with the page's auth line is REJECTED: a server using the page's auth file rejects this key.
    """
    text = code.strip()
    try:
        jwk = json.loads(text)
    except json.JSONDecodeError as error:
        notes = []
        try:
            json.loads("{" + text + "}")
            notes.append("these are the members of a JWK without the surrounding braces: copied as is, "
                         "it is not JSON")
        except json.JSONDecodeError:
            pass
        return CheckResult("FAILS TO RUN", f"not JSON: {error.msg} (line {error.lineno}, column {error.colno})",
                           notes)
    if not isinstance(jwk, dict):
        return CheckResult("FAILS TO RUN", f"the JSON is a {type(jwk).__name__}, not a JWK object")
    for member, expected in (("kty", "EC"), ("crv", "P-256")):
        if jwk.get(member) != expected:
            return CheckResult("FAILS TO RUN", f"{member} is {jwk.get(member)!r}, expected {expected!r}")
    scalars = {}
    for member in ("d", "x", "y"):
        scalars[member], problem = _jwk_scalar(jwk, member)
        if problem:
            return CheckResult("FAILS TO RUN", problem)
    try:
        public = ec.derive_private_key(scalars["d"], ec.SECP256R1()).public_key().public_numbers()
    except ValueError as error:
        return CheckResult("FAILS TO RUN", f"'d' is not a valid P-256 private key: {error}")
    if (public.x, public.y) != (scalars["x"], scalars["y"]):
        return CheckResult("FAILS TO RUN", "d does not match x/y: d·G != (x, y)\n"
                           f"d·G is x={b64url(public.x)} y={b64url(public.y)}\n"
                           f"the JWK has x={jwk['x']} y={jwk['y']}")
    kid = jwk.get("kid")
    lines = [f"kty EC, crv P-256, kid {kid!r}: d·G == (x, y)"]
    notes = []
    if "alg" in jwk and jwk["alg"] != "ES256":
        notes.append(f"alg is {jwk['alg']!r}; ILP/TCP authentication signs with ES256 (ECDSA P-256, SHA-256)")
    if kid is None:
        notes.append("no 'kid' member: the client must get its key id (sent first in the handshake) elsewhere")
    elif not isinstance(kid, str) or not kid:
        return CheckResult("FAILS TO RUN", f"kid is {kid!r}, not a non-empty string")
    elif kid not in page_auth_keys:
        notes.append(f"the page has no auth line for kid {kid!r}: nothing on it lets a server accept this key")
    else:
        x_b64, y_b64 = page_auth_keys[kid]
        page_point = (int.from_bytes(decode_base64url(x_b64), "big"), int.from_bytes(decode_base64url(y_b64), "big"))
        if page_point != (scalars["x"], scalars["y"]):
            return CheckResult("REJECTED", f"kid {kid!r}: x/y differ from the page's auth line for {kid!r}: "
                               "a server using that auth file rejects this key\n"
                               f"auth line: x={x_b64} y={y_b64}\nJWK:       x={jwk['x']} y={jwk['y']}")
        lines.append(f"x/y equal the page's auth line for {kid!r}")
        if (x_b64, y_b64) != (jwk["x"], jwk["y"]):
            notes.append(f"the page's auth line for {kid!r} writes x/y differently (same point)")
    return CheckResult("PASS", "\n".join(lines), notes)
