"""The signature half of the handshake: the real server's verdict, then an explanation.

The real QuestDB server (server_stub/PROTOCOL.md section 1.3) takes the signature line and:

1. rejects a line longer than 96 characters (72 bytes of DER, base64-encoded);
2. rejects an unknown key id (it sent a challenge anyway);
3. decodes standard base64 (``+`` and ``/``), after stripping every trailing ``=``,
   so padding is optional; any other character, or a length with ``len % 4 == 1``, fails;
4. picks the format by decoded length alone: exactly 64 bytes is raw ``r || s`` (IEEE P1363,
   each scalar 32 bytes big-endian), anything else is DER as the JDK reads it (jdk_ecdsa: strict,
   except that an INTEGER is an unsigned magnitude, so a missing 0x00 sign byte is accepted);
5. rejects an all-zero (or empty) signature before verifying;
6. verifies ECDSA P-256 over SHA-256 of the 512 challenge bytes (without the newline) as the JDK
   does: OpenSSL's verdict, except that the JDK does not reduce the x-coordinate mod n.

``judge`` reproduces exactly that verdict, held against the JDK's own verdict on every Wycheproof
vector (server_stub/tests/data/wycheproof_jca.json). An acceptance that only the JDK's leniency
gives carries a warning (``Verdict.warning_code``: strict verifiers reject such a signature). Only
for a rejection it then spends extra work on *why*: which scalar of a short raw signature lost its
leading zero byte, or which common client mistake (another key, the challenge signed with its
newline, ...) makes the signature verify. Those findings go into ``Verdict.details`` and never
change ``accepted``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import jdk_ecdsa

MAX_SIGNATURE_CHARS = 96
RAW_SIGNATURE_BYTES = 64
SCALAR_BYTES = 32

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_NOT_STANDARD_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")

# A raw signature this much shorter than 64 bytes is still worth trying to pad back.
_MAX_LOST_ZERO_BYTES = 8


@dataclass
class Verdict:
    """What the server decided about one signature line, and why."""

    accepted: bool
    encoding: str  # "p1363" | "der" | "invalid": the format the length rule chose
    signature_b64_chars: int
    signature_bytes: int | None  # decoded length, None when it did not decode
    reason_code: str | None = None  # a key of reasons.toml; None when accepted
    details: dict = field(default_factory=dict)  # fills the reason, hint and warning templates
    warning_code: str | None = None  # accepted, but only as QuestDB's lenient verifier does: warnings.toml
    edge_cases: list[str] | None = None  # what the scalars' values put to the test (edge_cases), once read


class Base64Problem(ValueError):
    def __init__(self, reason_code: str, **details):
        super().__init__(reason_code)
        self.reason_code = reason_code
        self.details = details


def decode_signature_base64(text: bytes) -> bytes:
    """Decode like the server: standard alphabet, trailing '=' stripped, len % 4 == 1 invalid."""
    if text.endswith(b"\r"):  # "sig==\r": name the \r, not the '=' that it keeps from being stripped
        return _raise_bad_char(b"\r", len(text) - 1)
    stripped = text.rstrip(b"=")
    bad = _NOT_STANDARD_BASE64.search(stripped)
    if bad:
        position = bad.start()
        return _raise_bad_char(stripped[position : position + 1], position)
    if len(stripped) % 4 == 1:
        raise Base64Problem("base64_invalid_length", b64_length=len(stripped))
    padded = stripped + b"=" * (-len(stripped) % 4)
    return binascii.a2b_base64(padded, strict_mode=True)  # what base64.b64decode(padded, validate=True) calls


def _raise_bad_char(char: bytes, position: int):
    raise Base64Problem(
        "base64_invalid_char",
        char=char.decode("latin-1"),
        position=position,
        url_safe=char in (b"-", b"_"),
        carriage_return=char == b"\r",
    )


def verify_signature(public_key: ec.EllipticCurvePublicKey, message: bytes, sig: bytes) -> bool:
    """The server's acceptance rule for decoded signature bytes (no explanation, no side effects).

    Wycheproof's DER and P1363 vectors are run through this very function.
    """
    if not any(sig):  # all zero, or empty
        return False
    if len(sig) == RAW_SIGNATURE_BYTES:
        return _verify_as_the_jdk(public_key, message, *_split_raw(sig))
    scalars = jdk_ecdsa.der_scalars(sig)
    return scalars is not None and _verify_as_the_jdk(public_key, message, scalars[0], scalars[1])


def judge(kid: str, challenge: bytes, line: bytes, keys: dict, diagnose_max_keys: int = 64) -> Verdict:
    """The full verdict for the signature line ``line`` (without its newline) sent by ``kid``.

    ``keys`` maps key ids to objects with a ``public_key`` attribute (authdb.AuthKey).
    """
    verdict = Verdict(False, "invalid", len(line), None)
    if len(line) > MAX_SIGNATURE_CHARS:
        return _reject(verdict, "signature_too_long", chars=len(line), limit=MAX_SIGNATURE_CHARS)

    try:
        sig = decode_signature_base64(line)
    except Base64Problem as problem:
        sig = None
        base64_problem = problem
    if sig is not None:
        verdict.signature_bytes = len(sig)
        verdict.encoding = "p1363" if len(sig) == RAW_SIGNATURE_BYTES else "der"

    key = keys.get(kid)
    if key is None:
        # The real server looks the key up before it decodes anything.
        verdict.details.update(kid=kid, known=_known_list(keys), trailing_cr=kid.endswith("\r"))
        if sig is not None:
            others = _other_keys(keys, kid, diagnose_max_keys)
            verdict.details["verifies_for"] = _first_key_that_verifies(others, challenge, sig)
        return _reject(verdict, "unknown_key_id")
    verdict.details["kid"] = kid

    if sig is None:
        return _reject(verdict, base64_problem.reason_code, **base64_problem.details)
    if not sig:
        return _reject(verdict, "empty_signature")
    if not any(sig):
        return _reject(verdict, "all_zero_signature", length=len(sig))

    if len(sig) == RAW_SIGNATURE_BYTES:
        r, s = _split_raw(sig)
        verdict.edge_cases = edge_cases(r, s)
        if _verify_as_the_jdk(key.public_key, challenge, r, s):
            verdict.accepted = True
            return verdict
    else:
        scalars = jdk_ecdsa.der_scalars(sig)
        if scalars is None:
            return _reject_not_der(verdict, key, challenge, sig)
        r, s, unsigned = scalars
        verdict.edge_cases = edge_cases(r, s)
        if _verify_as_the_jdk(key.public_key, challenge, r, s):
            verdict.accepted = True
            if unsigned:  # what the JDK reads as unsigned, strict DER reads as negative
                verdict.warning_code = "der_missing_sign_byte"
                verdict.details["scalars"] = " and ".join(unsigned)
            return verdict

    others = _other_keys(keys, kid, diagnose_max_keys)
    return _explain_mismatch(verdict, kid, key, others, _message_variants(challenge), r, s)


def reconsider(verdict: Verdict, line: bytes, keys: dict, messages: list[tuple[str, bytes]],
               diagnose_max_keys: int = 64) -> Verdict:
    """A ``signature_mismatch`` verdict on ``line`` tried once more, over ``messages``: (mistake code,
    what a client may have signed instead of the challenge) pairs, with every key and both scalar
    orders as ``judge`` tries its own. The first that verifies becomes the verdict's mistakes, as
    ``judge`` reports them; any other verdict, or none verifying, is returned unchanged."""
    if verdict.reason_code != "signature_mismatch":
        return verdict
    kid = verdict.details["kid"]
    sig = decode_signature_base64(line)  # it decoded, and its scalars were read, to reach a mismatch
    r, s = _split_raw(sig) if len(sig) == RAW_SIGNATURE_BYTES else jdk_ecdsa.der_scalars(sig)[:2]
    return _explain_mismatch(verdict, kid, keys[kid], _other_keys(keys, kid, diagnose_max_keys), messages, r, s)


# The values of a scalar that decide whether a client's encoding handles it (the codes of the auth
# event's `edge_cases`): below 2^248 its 32-byte big-endian form starts with a zero byte, which raw r||s
# must keep (padding) and a DER INTEGER drops (a shorter INTEGER); from 2^255 its top bit is set, so a
# DER INTEGER needs a 0x00 sign byte before it. Each scalar is below 2^248 in about 1 signature in 256
# (so one of the two in 1 in 128); its top bit is set in about 1 in 2.
EDGE_CASES = {"r_below_2^248": (0, 1 << 248), "s_below_2^248": (1, 1 << 248),
              "r_top_bit": (0, None), "s_top_bit": (1, None)}


def edge_cases(r: int, s: int) -> list[str]:
    """The EDGE_CASES that (r, s) exercise, in EDGE_CASES order."""
    scalars = (r, s)
    found = []
    for code, (which, below) in EDGE_CASES.items():
        value = scalars[which]
        if (value < below) if below is not None else value >= 1 << 255:
            found.append(code)
    return found


def _reject(verdict: Verdict, reason_code: str, **details) -> Verdict:
    verdict.accepted = False
    verdict.reason_code = reason_code
    verdict.details.update(details)
    return verdict


def _split_raw(sig: bytes) -> tuple[int, int]:
    return int.from_bytes(sig[:SCALAR_BYTES], "big"), int.from_bytes(sig[SCALAR_BYTES:], "big")


def _verify_as_the_jdk(public_key, message: bytes, r: int, s: int) -> bool:
    """The JDK's verdict on (r, s): OpenSSL's, except where the JDK does not reduce x mod n
    (jdk_ecdsa, case 2: only possible for r below p - n, so the point is computed only then)."""
    if not (0 < r < jdk_ecdsa.N and 0 < s < jdk_ecdsa.N and _verify_scalars(public_key, message, r, s)):
        return False
    if r >= jdk_ecdsa.P - jdk_ecdsa.N:
        return True
    numbers = public_key.public_numbers()
    return not jdk_ecdsa.x_needs_reduction((numbers.x, numbers.y), message, r, s)


def _verify_scalars(public_key, message: bytes, r: int, s: int) -> bool:
    """OpenSSL's verdict on (r, s), the scalars re-encoded as canonical DER."""
    try:
        public_key.verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


def _reject_not_der(verdict: Verdict, key, challenge: bytes, sig: bytes) -> Verdict:
    """A non-64-byte signature that is not DER: most often raw r||s that lost a leading zero."""
    if RAW_SIGNATURE_BYTES - _MAX_LOST_ZERO_BYTES <= len(sig) < RAW_SIGNATURE_BYTES:
        unpadded, scalars = _find_unpadded_scalars(key.public_key, challenge, sig)
        if scalars is not None:  # read once padded back: the edge case the client's encoding broke on
            verdict.edge_cases = edge_cases(*scalars)
        return _reject(
            verdict,
            "short_raw_signature",
            length=len(sig),
            missing=RAW_SIGNATURE_BYTES - len(sig),
            unpadded=unpadded or "",
        )
    return _reject(verdict, "malformed_der", length=len(sig), first_byte=f"0x{sig[:1].hex() or '--'}")


def _find_unpadded_scalars(public_key, challenge: bytes, sig: bytes) -> tuple[str | None, tuple | None]:
    """(which scalar(s) lost leading zero bytes: "r", "s" or "r and s", (r, s)); (None, None) if no
    padding verifies."""
    for r_len in range(len(sig) - SCALAR_BYTES, SCALAR_BYTES + 1):
        r = int.from_bytes(sig[:r_len], "big")
        s = int.from_bytes(sig[r_len:], "big")
        if _verify_scalars(public_key, challenge, r, s):
            short = [name for name, n in (("r", r_len), ("s", len(sig) - r_len)) if n < SCALAR_BYTES]
            return " and ".join(short), (r, s)
    return None, None


def _other_keys(keys: dict, kid: str, limit: int) -> list:
    return [(other_kid, key) for other_kid, key in keys.items() if other_kid != kid][:limit]


def _known_list(keys: dict, limit: int = 5) -> str:
    names = [repr(k) for k in list(keys)[:limit]]
    more = len(keys) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "") if names else "none"


def _first_key_that_verifies(others: list, challenge: bytes, sig: bytes) -> str | None:
    for other_kid, other in others:
        if verify_signature(other.public_key, challenge, sig):
            return other_kid
    return None


# What clients typically sign instead of the 512 challenge bytes: (mistake code, message).
def _message_variants(challenge: bytes) -> list[tuple[str | None, bytes]]:
    return [
        (None, challenge),
        ("signed_with_newline", challenge + b"\n"),
        ("signed_base64_challenge", base64.b64encode(challenge)),
        ("signed_hex_challenge", binascii.hexlify(challenge)),
        ("double_hashed", hashlib.sha256(challenge).digest()),
    ]


def _explain_mismatch(verdict: Verdict, kid: str, key, others: list, messages: list, r: int, s: int) -> Verdict:
    mistakes = _diagnose_mismatch(kid, key, others, messages, r, s)
    if not mistakes:
        return _reject(verdict, "signature_mismatch")
    verdict.details["mistakes"] = mistakes
    return _reject(verdict, mistakes[0]["code"])


def _diagnose_mismatch(kid: str, key, others: list, messages: list, r: int, s: int) -> list[dict]:
    """The first combination of (key, message, scalar order) that verifies, as a list of mistakes."""
    for candidate_kid, candidate in [(kid, key), *others]:
        for message_mistake, message in messages:
            for swapped, (a, b) in ((False, (r, s)), (True, (s, r))):
                if candidate_kid == kid and message_mistake is None and not swapped:
                    continue  # the plain check that already failed
                if _verify_scalars(candidate.public_key, message, a, b):
                    mistakes = []
                    if candidate_kid != kid:
                        mistakes.append({"code": "wrong_key", "other_kid": candidate_kid})
                    if message_mistake:
                        mistakes.append({"code": message_mistake})
                    if swapped:
                        mistakes.append({"code": "swapped_r_s"})
                    return mistakes
    return []
