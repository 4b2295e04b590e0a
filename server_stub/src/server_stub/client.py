"""The reference handshake client: QuestDB's ILP/TCP challenge/response from the client's side, once.

Everything in this repository that plays the client uses it: the negative matrix (interop/refsigner.py),
the bench's load generator, the docs' recipe check, the stub's own tests and the QuestDB launcher's. A
client maintainer can use it to see a correct handshake byte by byte, or to play a deliberate mistake
against a server. The steps (server_stub/PROTOCOL.md section 1):

1. send the key id and "\\n";
2. read the challenge up to its "\\n": 512 bytes, in any number of reads;
3. sign the 512 bytes (not the "\\n") with ECDSA P-256 / SHA-256 and send the base64 of the signature
   and "\\n", then rows;
4. the server says nothing back: an accepted handshake gets silence, a rejected one a close.

Every wait has a deadline, and a server that does not behave like QuestDB (a challenge that is not 512
bytes, no "\\n", a close or a reset midway) is reported in the :class:`Outcome`, never raised; only a
connect that fails raises (``OSError``).

    key = Key.load("keys/me.jwk.json")                    # parsed once: reuse it for every handshake
    outcome = authenticate("127.0.0.1", 9009, key, Handshake(rows=b"t x=1i\\n"))
    outcome.challenge, outcome.problem, outcome.closed    # what the client saw
    records.by_peer(conns)[outcome.local]                 # what the stub saw of that connection

A :class:`Handshake` says how to answer: correct by default, each field a deliberate deviation (the
negative matrix's mistakes), plus three hooks that edit the signature bytes, the base64 text and the
line just before they are sent, so that a new mistake needs no new code here.
"""

from __future__ import annotations

import base64
import functools
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from .authdb import decode_base64url
from .keys import load_jwk, private_key_from_jwk
from .machine import CHALLENGE_BYTES

__all__ = [
    "ALPHABETS",
    "CHALLENGE_BYTES",
    "CORRECT",
    "FORMS",
    "MESSAGES",
    "SILENCE",
    "TIMEOUT",
    "ClientConnection",
    "Handshake",
    "Key",
    "Outcome",
    "authenticate",
    "connect",
]

TIMEOUT = 10.0  # seconds: the connect, the challenge, each send, the drain
SILENCE = 0.5  # seconds a server that accepted stays silent before we call the connection open
MAX_CHALLENGE_LINE = 64 * 1024  # bytes read looking for the challenge's "\n"
MAX_RESIGN = 10_000  # signatures are random: re-sign until one has the property a form needs
RECV_BYTES = 4096

FORMS = ("p1363", "der", "p1363-unpadded", "der-unsigned", "zeros")
ALPHABETS = ("standard", "unpadded", "urlsafe")
MESSAGES = ("challenge", "challenge+newline")

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_SHORT = 1 << 248  # a scalar below this has a leading zero byte in 32 bytes
_TOP_BIT = 1 << 255  # a scalar at or above this needs a 0x00 sign byte in DER


class Key:
    """A client's private key, parsed once; signs a message in each form of :data:`FORMS`."""

    __slots__ = ("kid", "private")

    def __init__(self, kid: str, private: ec.EllipticCurvePrivateKey):
        self.kid = kid
        self.private = private

    @classmethod
    def from_jwk(cls, jwk: dict) -> Key:
        """From a JWK dict, checked as `keys.load_jwk` checks a file (d must match x and y)."""
        return cls(jwk["kid"], private_key_from_jwk(jwk))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Key:
        """From a JWK file (`keys.load_jwk`: a bad file is a ValueError naming it)."""
        return cls.from_jwk(load_jwk(path))

    @classmethod
    def from_d(cls, kid: str, d: str) -> Key:
        """From the private scalar alone (base64url), as the Node and Go clients take it: x and y unchecked."""
        return cls(kid, ec.derive_private_key(int.from_bytes(decode_base64url(d), "big"), ec.SECP256R1()))

    def der(self, message: bytes) -> bytes:
        """The DER signature of `message` (ECDSA P-256, SHA-256): SEQUENCE { INTEGER r, INTEGER s }."""
        return self.private.sign(message, _ECDSA_SHA256)

    def p1363(self, message: bytes) -> bytes:
        """Raw r || s, each scalar padded to 32 bytes (IEEE P1363): what the server takes at 64 bytes."""
        r, s = decode_dss_signature(self.private.sign(message, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def sign(self, message: bytes, form: str = "p1363") -> bytes:
        """The signature of `message` in `form`, one of :data:`FORMS`:

        - "p1363", "der": the two correct forms;
        - "p1363-unpadded": r || s with exactly one scalar short of 32 bytes and sent minimal-length
          (Go's ``r.Bytes() || s.Bytes()``): 63 bytes or fewer, so the server reads it as DER;
        - "der-unsigned": DER whose INTEGER with its top bit set lacks the 0x00 sign byte strict DER puts
          before it (a hand-written raw-to-DER converter's mistake);
        - "zeros": 64 zero bytes.

        The mistakes need a signature with a property (a short scalar, a top bit set): it re-signs until
        one has it, at most MAX_RESIGN times.
        """
        if form == "p1363":
            return self.p1363(message)
        if form == "der":
            return self.der(message)
        if form == "zeros":
            return bytes(64)
        if form not in FORMS:
            raise ValueError(f"unknown signature form {form!r}: one of {', '.join(FORMS)}")
        for _ in range(MAX_RESIGN):
            r, s = decode_dss_signature(self.der(message))
            if form == "p1363-unpadded" and (r < _SHORT) != (s < _SHORT):
                return _minimal(r) + _minimal(s)
            if form == "der-unsigned" and max(r, s) >= _TOP_BIT:
                body = _der_integer_unsigned(r) + _der_integer_unsigned(s)
                return bytes([0x30, len(body)]) + body
        raise RuntimeError(f"no signature of the form {form!r} in {MAX_RESIGN} tries")


def _minimal(n: int) -> bytes:
    """What Go's big.Int.Bytes() gives: no leading zero bytes."""
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def _der_integer_unsigned(n: int) -> bytes:
    """A DER INTEGER holding n's minimal unsigned bytes, without a sign byte before a set top bit."""
    body = _minimal(n)
    return bytes([0x02, len(body)]) + body


@dataclass(frozen=True, slots=True)
class Handshake:
    """How to answer a challenge: a correct handshake by default, each field a deliberate deviation.

    The bytes go through these steps, each with its hook (a callable taking and returning bytes) last:
    message to sign -> signature bytes (`form`, then `edit_signature`) -> base64 text (`base64`,
    `pad_to`, then `edit_text`) -> line (text + `line_end`, then `edit_line`) -> sent with `rows`.
    """

    kid: str | None = None  # the key id sent; None: the key's own
    key_id_end: bytes = b"\n"
    truncate_key_id: int | None = None  # send only this many bytes of the key id, no line end, then half-close
    rows_before: bytes = b""  # in the same write as the key id line (the server discards them)
    message: str | Callable[[bytes], bytes] = "challenge"  # one of MESSAGES, or challenge -> bytes to sign
    form: str = "p1363"  # one of FORMS (Key.sign)
    base64: str = "standard"  # one of ALPHABETS; "urlsafe" re-signs until the text differs from standard
    pad_to: int | None = None  # strip the '=' padding, then pad with '=' to this many characters
    line_end: bytes = b"\n"  # after the signature's base64 text
    rows: bytes = b""  # in the same write as the signature line (the server keeps them)
    edit_signature: Callable[[bytes], bytes] | None = None
    edit_text: Callable[[bytes], bytes] | None = None
    edit_line: Callable[[bytes], bytes] | None = None

    def __post_init__(self):
        for value, allowed, what in ((self.form, FORMS, "signature form"), (self.base64, ALPHABETS, "base64"),
                                     (self.message, MESSAGES, "message")):
            if value not in allowed and not (what == "message" and callable(value)):
                raise ValueError(f"unknown {what} {value!r}: one of {', '.join(allowed)}")

    def signed_message(self, challenge: bytes) -> bytes:
        if self.message == "challenge":
            return challenge
        if self.message == "challenge+newline":
            return challenge + b"\n"
        return self.message(challenge)

    def signature_text(self, key: Key, challenge: bytes) -> bytes:
        """The base64 text answering `challenge`, without its line end."""
        message = self.signed_message(challenge)
        for _ in range(MAX_RESIGN):
            signature = key.sign(message, self.form)
            if self.edit_signature is not None:
                signature = self.edit_signature(signature)
            text = base64.b64encode(signature)
            if self.base64 == "urlsafe":
                if b"+" not in text and b"/" not in text:
                    continue  # the same in both alphabets: not a test of anything
                text = text.translate(_URLSAFE)
            elif self.base64 == "unpadded":
                text = text.rstrip(b"=")
            if self.pad_to is not None:
                text = text.rstrip(b"=").ljust(self.pad_to, b"=")
            if self.edit_text is not None:
                text = self.edit_text(text)
            return text
        raise RuntimeError(f"no {self.form} signature whose base64 is {self.base64} in {MAX_RESIGN} tries")

    def signature_line(self, key: Key, challenge: bytes) -> bytes:
        """The line sent for `challenge` (rows not included)."""
        line = self.signature_text(key, challenge) + self.line_end
        return line if self.edit_line is None else self.edit_line(line)


CORRECT = Handshake()


@dataclass(slots=True)
class Outcome:
    """What the client saw on one connection. `problem` is None when every step the Handshake asked for was done."""

    local: str  # "127.0.0.1:51234": the `peer` of the stub's events for it (records.by_peer)
    challenge: bytes | None = None  # the 512 bytes before the "\n"; None when none came
    line: bytes | None = None  # the bytes before the first "\n", whatever their number; None: no "\n"
    extra: bytes = b""  # what followed the "\n" in the same reads (QuestDB sends nothing more)
    received: int = 0  # bytes read while waiting for the challenge
    reads: int = 0  # reads that returned bytes: the pieces the challenge came in
    signature_line: bytes | None = None  # as sent (after the hooks), rows not included
    problem: str | None = None  # why the handshake stopped short, in words
    closed: bool | None = None  # the server closed (EOF or reset); False: open after a wait; None: not looked
    reset: bool = False  # the close was a reset (ECONNRESET)


class ClientConnection:
    """One client connection, each step its own bounded call; it records what it sees in `outcome`.

    `handshake()` plays all the steps; `server_closed()` then tells an accepted handshake (silence) from
    a rejected one (a close), and `half_close_and_drain()` ends the connection the way a client that
    sent everything does. `sock` stays available for rows, or to get a later step wrong by hand.
    """

    def __init__(self, sock: socket.socket, timeout: float = TIMEOUT):
        self.sock = sock
        self.timeout = timeout
        host, port = sock.getsockname()[:2]
        self.outcome = Outcome(f"{host}:{port}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes, what: str) -> bool:
        """Send all of `data` within the timeout; False (and the outcome says why) when it could not."""
        if self.sock.gettimeout() != self.timeout:
            self.sock.settimeout(self.timeout)
        try:
            self.sock.sendall(data)
        except TimeoutError:
            self._stop(f"sending {what} timed out after {self.timeout:g} s")
            return False
        except OSError as error:
            self._stop(f"sending {what}: {type(error).__name__}: {error}", closed=isinstance(error, ConnectionError),
                       reset=isinstance(error, ConnectionResetError))
            return False
        return True

    def read_challenge(self, max_bytes: int = MAX_CHALLENGE_LINE) -> bytes | None:
        """Read up to the first "\\n" within the timeout, in as many reads as it takes: the 512 challenge
        bytes, or None with the outcome's `problem` (no "\\n" in `max_bytes`, a close, a reset, the deadline,
        a line that is not 512 bytes)."""
        out, sock = self.outcome, self.sock
        deadline = time.monotonic() + self.timeout
        if sock.gettimeout() != self.timeout:
            sock.settimeout(self.timeout)  # the first read may take the whole deadline
        data, end = b"", -1
        while end < 0:
            try:
                chunk = sock.recv(RECV_BYTES)
            except TimeoutError:
                return self._stop(f"no challenge line end within {self.timeout:g} s ({len(data)} bytes came)")
            except OSError as error:
                return self._stop(f"{type(error).__name__} after {len(data)} bytes, before the challenge's line end: "
                                  f"{error}", closed=isinstance(error, ConnectionError),
                                  reset=isinstance(error, ConnectionResetError))
            if not chunk:
                return self._stop(f"the server closed the connection after {len(data)} bytes, before the "
                                  "challenge's line end" if data else
                                  "the server closed the connection without sending a challenge", closed=True)
            out.reads += 1
            end = chunk.find(b"\n")
            if end >= 0:
                end += len(data)
            data += chunk
            out.received = len(data)
            if end < 0:
                if len(data) > max_bytes:
                    return self._stop(f"no challenge line end within {max_bytes} bytes")
                left = deadline - time.monotonic()
                if left <= 0:
                    return self._stop(f"no challenge line end within {self.timeout:g} s ({len(data)} bytes came)")
                sock.settimeout(left)
        out.line, out.extra = data[:end], data[end + 1:]
        if end != CHALLENGE_BYTES:
            return self._stop(f"the challenge is {end} bytes, not {CHALLENGE_BYTES}")
        out.challenge = out.line
        return out.challenge

    def handshake(self, key: Key, how: Handshake = CORRECT) -> Outcome:
        """Play `how` with `key`: key id, challenge, signature line and rows. Does not wait for a verdict."""
        kid = (key.kid if how.kid is None else how.kid).encode()
        if how.truncate_key_id is not None:
            if self.send(kid[:how.truncate_key_id], "the key id") and self._shut_write():
                self.read_challenge()
            return self.outcome
        if self.send(kid + how.key_id_end + how.rows_before, "the key id"):
            challenge = self.read_challenge()
            if challenge is not None:
                line = self.outcome.signature_line = how.signature_line(key, challenge)
                self.send(line + how.rows, "the signature")
        return self.outcome

    def server_closed(self, within: float = SILENCE) -> bool:
        """Wait up to `within` s for the server to close: True on a close (EOF or reset), False when it
        stayed silent (what an accepted handshake gets) or sent something. Reads at most one byte."""
        self.sock.settimeout(within)
        try:
            closed = self.sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionError as error:
            closed, self.outcome.reset = True, isinstance(error, ConnectionResetError)
        self.outcome.closed = closed
        return closed

    def half_close_and_drain(self, within: float | None = None) -> bool:
        """Shut our sending side (end of stream), then read until the server closes, at most `within` s
        (default the timeout): True when it closed. The stub closes once it has read everything."""
        deadline = time.monotonic() + (self.timeout if within is None else within)
        try:
            self.sock.shutdown(socket.SHUT_WR)
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                if not self.sock.recv(RECV_BYTES):
                    self.outcome.closed = True
                    return True
        except TimeoutError:
            pass
        except OSError as error:
            self.outcome.closed, self.outcome.reset = True, isinstance(error, ConnectionResetError)
            return True
        self.outcome.closed = False
        return False

    def _shut_write(self) -> bool:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as error:  # the server closed first
            self._stop(f"half-closing: {type(error).__name__}: {error}", closed=True)
            return False
        return True

    def _stop(self, problem: str, closed: bool | None = None, reset: bool = False) -> None:
        self.outcome.problem = problem
        if closed is not None:
            self.outcome.closed = closed
        self.outcome.reset = self.outcome.reset or reset


def connect(host: str, port: int, timeout: float = TIMEOUT, nodelay: bool = False) -> ClientConnection:
    """Connect within `timeout` s (a failure raises OSError: there is nothing to report on yet)."""
    family = _address_family(host)
    if family is None:
        sock = socket.create_connection((host, port), timeout=timeout)
    else:  # an address literal: no name lookup (its cost: interop/bench/README.md)
        sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family is not None:
            sock.settimeout(timeout)
            sock.connect((host, port))
        if nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return ClientConnection(sock, timeout)
    except BaseException:
        sock.close()
        raise


@functools.lru_cache(maxsize=64)
def _address_family(host: str) -> int | None:
    """AF_INET or AF_INET6 for an address literal, None for a name to look up."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family
    return None


def authenticate(host: str, port: int, key: Key, how: Handshake = CORRECT, *, timeout: float = TIMEOUT,
                 listen: float | None = SILENCE, drain: bool = False) -> Outcome:
    """One connection: `how` played with `key`, then a look at the server, then close.

    When the handshake went through (no `problem`), it waits `listen` s for a close (None: it does not wait),
    or with `drain` half-closes and reads until the server closes (within `timeout`), so that the server has
    read every row.
    """
    with connect(host, port, timeout) as conn:
        outcome = conn.handshake(key, how)
        if outcome.problem is None and outcome.closed is None:
            if drain:
                conn.half_close_and_drain()
            elif listen is not None:
                conn.server_closed(listen)
    return outcome
