"""One connection of the stub as a state machine without I/O: bytes and clock ticks in, actions out.

The machine never touches a socket, an event loop or a clock. Its adapter (server.py) feeds it
what happened and carries out what it answers, in order:

    input                                       answer: a list of actions
    start(now, peer)  the client connected      Emit(event)       write this event
    receive(data)     bytes arrived (one read)  EmitRows(..)      write these row events (one action per read)
    tick(now)         a Wake time came          Send(data)        write these bytes to the client
    peer_closed()     the connection is gone    Close(cause)      close the connection (always last)
    stop()            the server stops          Wake(at)          call tick(now) once now >= at (None: no more)
    close(cause, ..)  end it from our side

However the connection ends, the machine writes its close event at once (with the Close when the
connection is still there to close); from then on every input answers nothing.

Its states follow server_stub/PROTOCOL.md section 1:

    KEY_ID     everything up to the first \\n is the key id (a \\r stays part of it); bytes after the
               \\n in the same read are discarded. The line must fit max_key_id_bytes however its bytes
               arrive. Then the challenge: 512 printable random bytes and \\n (for an unknown key id too).
    SIGNATURE  the line up to the next \\n is judged (signature.judge). Rejected: close without a word.
               Accepted: nothing is sent, and the bytes after the \\n are the first rows.
    ROWS       ILP lines become row events until the peer closes; a malformed line, or a name
               QuestDB refuses, ends the connection (ilp_error).
    CLOSED     the close event is written; nothing more happens.

Unlike the real server the machine bounds the handshake: start(now) sets a deadline, handshake_timeout
later, which the adapter is asked to wake it at; tick(now) past it ends the handshake as a timeout.

What holds for every connection, whatever bytes and ticks come in what order:
- the events are connect, then exactly one auth, then rows only if that auth accepted, then exactly
  one close, and nothing after it;
- close's bytes is every byte received before it, rows the row events written, unterminated_bytes
  a last line without its line end (never parsed, as on the server);
- the challenge is sent once, in one Send, and only in SIGNATURE;
- deadline is set exactly while the handshake is under way, and every change of it is a Wake action.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import ilp, reasons, signature
from .tables import Tables
from .tls import looks_like_tls

CHALLENGE_BYTES = 512

# Uniform printable ASCII (0x20..0x7E, 95 values) from CSPRNG bytes by rejection sampling:
# bytes 0..189 map to 0x20 + b % 95 (each value twice), bytes 190..255 are dropped.
_PRINTABLE = bytes(0x20 + b % 95 if b < 190 else 0 for b in range(256))
_DROPPED = bytes(range(190, 256))


def make_challenge() -> bytes:
    """512 random bytes in 0x20..0x7E from the OS CSPRNG (without the newline)."""
    # 190 of 256 byte values are kept: a draw of twice the length all but always holds 512 of them
    # (760 expected), so one system call makes a challenge; the loop keeps it right when it does not.
    challenge = b""
    while len(challenge) < CHALLENGE_BYTES:
        challenge += os.urandom(2 * CHALLENGE_BYTES).translate(_PRINTABLE, _DROPPED)
    return challenge[:CHALLENGE_BYTES]


@dataclass
class Limits:
    """What bounds one connection. The defaults are the real server's where it has one."""

    max_key_id_bytes: int = 128 * 1024  # the stub's bound; the real server's limit is unmeasured (issue 13)
    max_line_bytes: int = 128 * 1024  # one ILP line (or a signature line before its \n)
    handshake_timeout: float = 15.0  # the real server has none; the stub records what was missing
    diagnose_max_keys: int = 64  # other auth-file keys tried when explaining a failed signature


class State(enum.Enum):
    KEY_ID = "key id"
    SIGNATURE = "signature"
    ROWS = "rows"
    CLOSED = "closed"


HANDSHAKE = (State.KEY_ID, State.SIGNATURE)


@dataclass(slots=True)
class Send:
    data: bytes


@dataclass(slots=True)
class Emit:
    event: dict


@dataclass(slots=True)
class EmitRows:
    """The row events of one read, in order: rows as IlpStream.feed parsed them, each written as
    {"event": "row", "conn": conn, **row}. Made one at a time (events()), each written before the next
    is made: a read's rows never become a list of events."""

    conn: int
    rows: list[dict]

    def events(self) -> Iterator[dict]:
        conn = self.conn
        for row in self.rows:
            yield {"event": "row", "conn": conn, **row}


@dataclass(slots=True)
class Close:
    cause: str


@dataclass(slots=True)
class Wake:
    at: float | None  # call tick(now) once now >= at; None: no tick is needed any more


Action = Send | Emit | EmitRows | Close | Wake
NOTHING: tuple[Action, ...] = ()


class Machine:
    """The stub's side of one connection; see the module's docstring for its inputs, actions and states."""

    __slots__ = ("_buffer", "_discarded", "_row_limit", "_stream", "bytes", "cause", "challenge", "conn", "deadline",
                 "judge", "keys", "kid", "limits", "make_challenge", "rows", "state", "tables")

    def __init__(self, conn: int, keys: dict, limits: Limits, challenge: Callable[[], bytes] = make_challenge,
                 tables: Tables | None = None):
        """conn: the connection's number in the events; keys: the auth file (authdb.load_auth_db);
        challenge: makes each connection's 512 challenge bytes; tables: the server's tables, shared by
        its connections (tables.py; default: this connection's own)."""
        self.conn = conn
        self.tables = Tables() if tables is None else tables
        self.keys = keys
        self.limits = limits
        self.make_challenge = challenge
        # The verdict on a signature line, called as signature.judge is; a fault layer may wrap it.
        self.judge = signature.judge
        self.state = State.KEY_ID
        self.kid: str | None = None
        self.challenge = b""
        self.deadline: float | None = None
        self.rows = 0
        self.bytes = 0
        self.cause: str | None = None  # why the connection ended, once it has
        self._buffer = b""  # the key id or signature line so far
        self._discarded = 0
        self._stream: ilp.IlpStream | None = None
        self._row_limit: tuple[int, str] | None = None

    # --- inputs ---------------------------------------------------------------------------------

    def start(self, now: float, peer: str | None) -> list[Action]:
        """The client connected from peer ("127.0.0.1:51234") at time now."""
        self.deadline = now + self.limits.handshake_timeout
        return [Emit({"event": "connect", "conn": self.conn, "peer": peer}), Wake(self.deadline)]

    def receive(self, data: bytes) -> list[Action] | tuple[Action, ...]:
        """Bytes from the client, as one read delivered them."""
        state = self.state
        if state is State.CLOSED:
            return NOTHING  # bytes that arrive while the close is under way
        self.bytes += len(data)
        if state is State.ROWS:
            return self._rows(data)
        if state is State.KEY_ID:
            return self._key_id(data)
        return self._signature(data)

    def tick(self, now: float) -> list[Action] | tuple[Action, ...]:
        """The time is now: past the deadline, the handshake has timed out."""
        if self.deadline is None or now < self.deadline:
            return NOTHING
        timeout = self.limits.handshake_timeout
        if self.state is State.KEY_ID:
            return self._reject("key_id_timeout", {"timeout": timeout}, cause="timeout", missing="key_id")
        return self._reject("signature_timeout", {"timeout": timeout, "kid": self.kid}, cause="timeout",
                            missing="signature")

    def peer_closed(self) -> list[Action] | tuple[Action, ...]:
        """The connection is gone: the client closed or reset it (after the machine's own Close, the
        adapter still says so, and nothing more happens)."""
        if self.state is State.KEY_ID:
            return self._reject("closed_before_key_id", {}, cause="peer_closed", close=False)
        if self.state is State.SIGNATURE:
            return self._reject("closed_before_signature", {"kid": self.kid}, cause="peer_closed", close=False)
        if self.state is State.ROWS:
            return self._end("peer_closed", close=False)
        return NOTHING

    def stop(self) -> list[Action] | tuple[Action, ...]:
        """The server stops: the connection ends with cause server_stop (in the handshake, its reason too)."""
        return self.close("server_stop")

    def close(self, cause: str, reason_code: str | None = None, details: dict | None = None
              ) -> list[Action] | tuple[Action, ...]:
        """End the connection from the server's side with this close cause. In the handshake that is
        also its auth event: rejected, with reason_code (a key of reasons.toml; default: cause)."""
        if self.state in HANDSHAKE:
            return self._reject(reason_code or cause, details or {}, cause=cause)
        if self.state is State.ROWS:
            return self._end(cause)
        return NOTHING

    def close_after_rows(self, count: int, cause: str) -> None:
        """From now on the connection ends with this cause as soon as `count` rows are written; the
        rest of that read is not recorded (the close-after-rows fault)."""
        self._row_limit = (count, cause)

    # --- the states -----------------------------------------------------------------------------

    def _key_id(self, data: bytes) -> list[Action]:
        buffer = self._buffer + data
        if looks_like_tls(buffer):  # a TLS ClientHello where the key id should be
            return self._reject("tls_on_plain_port", {})
        end = buffer.find(b"\n")
        limit = self.limits.max_key_id_bytes
        if end >= limit or (end < 0 and len(buffer) >= limit):
            return self._reject("key_id_too_long", {"limit": limit})
        if end < 0:
            self._buffer = buffer
            return NOTHING
        try:
            self.kid = buffer[:end].decode("utf-8")
        except UnicodeDecodeError as error:  # no challenge: QuestDB stops here (and leaves it open)
            return self._reject("key_id_not_utf8", {"byte": buffer[error.start], "offset": error.start})
        self._discarded = len(buffer) - end - 1
        self._buffer = b""
        self.challenge = self.make_challenge()
        self.state = State.SIGNATURE
        return [Send(self.challenge + b"\n")]

    def _signature(self, data: bytes) -> list[Action]:
        buffer = self._buffer + data
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) >= self.limits.max_line_bytes:
                return self._reject("signature_too_long", {"kid": self.kid, "chars": f"{len(buffer)}+",
                                                           "limit": signature.MAX_SIGNATURE_CHARS})
            self._buffer = buffer
            return NOTHING
        line, rest = buffer[:end], buffer[end + 1 :]
        self._buffer = b""
        verdict = self.judge(self.kid, self.challenge, line, self.keys, self.limits.diagnose_max_keys)
        fields = {"signature_b64_chars": verdict.signature_b64_chars, "signature_bytes": verdict.signature_bytes,
                  "encoding": verdict.encoding}
        if verdict.edge_cases is not None:
            fields["edge_cases"] = verdict.edge_cases
        if not verdict.accepted:
            return self._reject(verdict.reason_code, verdict.details, **fields)
        if verdict.warning_code is not None:
            fields.update(warning_code=verdict.warning_code, warning=reasons.warning(verdict.warning_code, verdict.details))
        self.deadline = None
        self.state = State.ROWS
        self._stream = ilp.IlpStream(self.limits.max_line_bytes, check_row=self.tables.admit)
        actions = [Wake(None), self._auth(True, discarded_bytes=self._discarded, pipelined_bytes=len(rest), **fields)]
        if rest:
            actions += self._rows(rest)
        return actions

    def _rows(self, data: bytes) -> list[Action] | tuple[Action, ...]:
        rows, error = self._stream.feed(data)
        if self._row_limit is not None:
            count, cause = self._row_limit
            if len(rows) >= count - self.rows:
                return [*self._record(rows[: max(0, count - self.rows)]), *self._end(cause)]
        if error is None:
            return self._record(rows)  # the hot path: one action for all the rows of a read
        return [*self._record(rows), self._event("ilp_error", **error), *self._end("ilp_error")]

    def _record(self, rows: list[dict]) -> list[Action] | tuple[Action, ...]:
        if not rows:
            return NOTHING
        self.rows += len(rows)
        return [EmitRows(self.conn, rows)]

    # --- endings --------------------------------------------------------------------------------

    def _reject(self, reason_code: str, details: dict, cause: str = "rejected", close: bool = True,
                **fields) -> list[Action]:
        """The handshake failed: its auth event with the reason and hint, then the end (silent, as on
        the real server)."""
        reason, hint = reasons.explain(reason_code, details)
        fields.setdefault("encoding", "invalid")
        mistakes = [m["code"] for m in details.get("mistakes", [])]
        if mistakes:
            fields["mistakes"] = mistakes
        real_server = reasons.real_server_note(reason_code)
        if real_server:
            fields.update(real_server_closes=False, real_server=real_server)
        self.deadline = None
        auth = self._auth(False, reason_code=reason_code, reason=reason, hint=hint, **fields)
        return [Wake(None), auth, *self._end(cause, close)]

    def _auth(self, accepted: bool, **fields) -> Emit:
        return Emit({"event": "auth", "conn": self.conn, "kid": self.kid, "accepted": accepted,
                     "signature_b64_chars": None, "signature_bytes": None, "reason": None, "hint": None, **fields})

    def _end(self, cause: str, close: bool = True) -> list[Action]:
        """CLOSED: the close event, and the Close for the adapter unless the connection is gone already."""
        self.state = State.CLOSED
        self.cause = cause
        event = {"event": "close", "conn": self.conn, "cause": cause, "rows": self.rows, "bytes": self.bytes}
        if self._stream is not None and self._stream.pending:
            event["unterminated_bytes"] = self._stream.pending  # a last line without \n is not parsed
        return [Emit(event), Close(cause)] if close else [Emit(event)]

    def _event(self, event: str, **fields) -> Emit:
        return Emit({"event": event, "conn": self.conn, **fields})
