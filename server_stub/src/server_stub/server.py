"""The ILP/TCP server: one asyncio protocol object per connection, driven by received bytes.

A connection goes through three states, as on the real server (server_stub/PROTOCOL.md section 1):

    KEY_ID     read up to the first \\n; that line is the key id (a \\r stays part of it) and every
               byte after it in the same read is DISCARDED; then send 512 printable random bytes + \\n
               (also for an unknown key id).
    SIGNATURE  read up to the next \\n and judge it (signature.judge). Rejected: close silently.
               Accepted: send nothing; bytes after the \\n in the same read are already ILP rows.
    ILP        parse rows until the peer closes; a malformed line closes the connection.

Unlike the real server, the stub bounds the handshake with a timeout and records an event for
everything it decides (events.py), including the reason and a hint for every rejection.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from . import ilp, names, reasons, signature
from .events import EventLog

CHALLENGE_BYTES = 512

# Uniform printable ASCII (0x20..0x7E, 95 values) from CSPRNG bytes by rejection sampling:
# bytes 0..189 map to 0x20 + b % 95 (each value twice), bytes 190..255 are dropped.
_PRINTABLE = bytes(0x20 + b % 95 if b < 190 else 0 for b in range(256))
_DROPPED = bytes(range(190, 256))


def make_challenge() -> bytes:
    """512 random bytes in 0x20..0x7E from the OS CSPRNG (without the newline)."""
    challenge = b""
    while len(challenge) < CHALLENGE_BYTES:
        challenge += os.urandom(CHALLENGE_BYTES).translate(_PRINTABLE, _DROPPED)
    return challenge[:CHALLENGE_BYTES]


@dataclass
class StubConfig:
    """Every limit of the stub. The defaults are the real server's where it has one."""

    host: str = "127.0.0.1"
    also_hosts: tuple[str, ...] = ()  # more addresses on the same port (e.g. "::1" for a snippet's "localhost")
    port: int = 0
    max_key_id_bytes: int = 128 * 1024  # the real server's receive buffer
    max_line_bytes: int = 128 * 1024  # one ILP line (or a signature line before its \n)
    handshake_timeout: float = 15.0  # the real server has none; the stub records what was missing
    diagnose_max_keys: int = 64  # other auth-file keys tried when explaining a failed signature
    flush_interval: float = 0.2  # seconds between flushes of the events file
    fault: str | None = None  # a misbehaviour to inject, one of FAULTS (for testing clients)
    fault_delay: float = 2.0  # seconds, for challenge-delayed
    fault_rows: int = 1  # rows, for close-after-rows


# Faults the stub can inject to see how a client copes (serve --fault NAME).
FAULTS = {
    "challenge-in-pieces": "send the 513 challenge bytes one by one, 1 ms apart",
    "challenge-delayed": "send the challenge only after --fault-delay seconds",
    "no-challenge": "never send the challenge",
    "extra-after-challenge": "send bytes after the challenge's newline",
    "close-after-challenge": "close the connection right after sending the challenge",
    "close-after-rows": "close the connection after --fault-rows rows",
}
PIECE_GAP = 0.001
YIELD_AFTER_BYTES = 64 * 1024  # a read this large ends the connection's turn (Connection.yield_to_others)
EXTRA_AFTER_CHALLENGE = b"unexpected bytes after the challenge\n"


class Connection(asyncio.Protocol):
    def __init__(self, server: StubServer, conn_id: int):
        self.server = server
        self.conn = conn_id
        self.state = "KEY_ID"
        self.buffer = b""
        self.kid: str | None = None
        self.challenge = b""
        self.ilp: ilp.IlpStream | None = None
        self.challenge_complete = False  # all of the challenge handed to the socket
        self.early_bytes = 0  # bytes the client sent after its key id but before the whole challenge
        self.rows = 0
        self.bytes_received = 0
        self.cause: str | None = None  # why the connection ended, once known
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.closed = asyncio.get_running_loop().create_future()

    # --- asyncio callbacks -------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.emit("connect", peer=f"{peer[0]}:{peer[1]}" if peer else None)
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.server.config.handshake_timeout, self.handshake_timed_out)

    def data_received(self, data: bytes):
        self.bytes_received += len(data)
        if self.state == "KEY_ID":
            self.read_key_id(data)
        elif self.state == "SIGNATURE":
            self.read_signature(data)
        elif self.state == "ILP":
            self.read_rows(data)
        # state CLOSED: bytes that arrive while the close is under way are ignored

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        if self.timer:
            self.timer.cancel()
        if self.state == "KEY_ID":
            self.reject("closed_before_key_id", {}, cause="peer_closed")
        elif self.state == "SIGNATURE":
            self.reject("closed_before_signature", {"kid": self.kid}, cause="peer_closed")
        extra = {}
        if self.ilp is not None and self.ilp.pending:
            extra["unterminated_bytes"] = self.ilp.pending  # a last line without \n is not parsed
        self.emit("close", cause=self.cause or "peer_closed", rows=self.rows, bytes=self.bytes_received, **extra)
        self.state = "CLOSED"
        self.server.forget(self)
        self.closed.set_result(None)

    # --- the handshake ---------------------------------------------------------------------

    def read_key_id(self, data: bytes):
        self.buffer += data
        end = self.buffer.find(b"\n")
        limit = self.server.config.max_key_id_bytes
        if end >= limit or (end < 0 and len(self.buffer) >= limit):
            # The line must fit the receive buffer, however the bytes arrive.
            self.reject("key_id_too_long", {"limit": limit})
            return
        if end < 0:
            return
        self.kid = self.buffer[:end].decode("utf-8", errors="replace")
        self.discarded = len(self.buffer) - end - 1  # bytes after the key id in this read are lost
        self.buffer = b""
        self.challenge = make_challenge()
        self.state = "SIGNATURE"
        self.send_challenge(self.challenge + b"\n")

    def send_challenge(self, data: bytes):
        """Write the challenge, unless a fault says to do it another way (or not at all)."""
        fault, loop = self.server.config.fault, asyncio.get_running_loop()
        if fault == "no-challenge":
            return
        if fault == "challenge-delayed":
            loop.call_later(self.server.config.fault_delay, self.write_challenge, data)
        elif fault == "challenge-in-pieces":
            self.write_in_pieces(data)
        elif fault == "extra-after-challenge":
            self.write_challenge(data + EXTRA_AFTER_CHALLENGE)
        elif fault == "close-after-challenge":
            self.write_challenge(data)
            self.reject("fault_closed", {"fault": fault}, cause="fault")
        else:
            self.write_challenge(data)

    def write_in_pieces(self, data: bytes):
        """One byte now, the rest PIECE_GAP later: each piece in its own loop iteration, so that no
        event loop (uvloop's timers have millisecond resolution) can merge pieces into one write."""
        self.write_challenge(data[:1], last=len(data) == 1)
        if len(data) > 1 and self.state == "SIGNATURE":
            asyncio.get_running_loop().call_later(PIECE_GAP, self.write_in_pieces, data[1:])

    def write_challenge(self, data: bytes, last: bool = True):
        if self.state == "SIGNATURE" and not self.transport.is_closing():
            self.transport.write(data)
            self.challenge_complete = last

    def read_signature(self, data: bytes):
        if not self.challenge_complete:
            self.early_bytes += len(data)  # the client did not wait for the challenge
        self.buffer += data
        end = self.buffer.find(b"\n")
        if end < 0:
            if len(self.buffer) >= self.server.config.max_line_bytes:
                chars = len(self.buffer)
                self.reject("signature_too_long", {"kid": self.kid, "chars": f"{chars}+", "limit": 96})
            return
        line, rest = self.buffer[:end], self.buffer[end + 1 :]
        self.buffer = b""
        extra = EXTRA_AFTER_CHALLENGE if self.server.config.fault == "extra-after-challenge" else b""
        verdict = signature.judge(
            self.kid, self.challenge, line, self.server.keys, self.server.config.diagnose_max_keys, extra
        )
        fields = {
            "signature_b64_chars": verdict.signature_b64_chars,
            "signature_bytes": verdict.signature_bytes,
            "encoding": verdict.encoding,
        }
        if self.early_bytes:
            fields["bytes_before_challenge"] = self.early_bytes
        if not verdict.accepted:
            self.reject(verdict.reason_code, verdict.details, **fields)
            return
        self.timer.cancel()
        self.emit_auth(True, discarded_bytes=self.discarded, pipelined_bytes=len(rest), **fields)
        self.state = "ILP"
        self.ilp = ilp.IlpStream(self.server.config.max_line_bytes, check_row=names.check_row)
        if rest:
            self.read_rows(rest)

    def handshake_timed_out(self):
        timeout = self.server.config.handshake_timeout
        if self.state == "KEY_ID":
            self.reject("key_id_timeout", {"timeout": timeout}, cause="timeout", missing="key_id")
        elif self.state == "SIGNATURE":
            self.reject("signature_timeout", {"timeout": timeout, "kid": self.kid}, cause="timeout", missing="signature")

    def reject(self, reason_code: str, details: dict, cause: str = "rejected", **fields):
        """Record why the handshake failed and close silently, as the real server does."""
        if self.timer:
            self.timer.cancel()
        reason, hint = reasons.explain(reason_code, details)
        fields.setdefault("encoding", "invalid")
        mistakes = [m["code"] for m in details.get("mistakes", [])]
        if mistakes:
            fields["mistakes"] = mistakes
        real_server = reasons.real_server_note(reason_code)
        if real_server:
            fields.update(real_server_closes=False, real_server=real_server)
        self.emit_auth(False, reason_code=reason_code, reason=reason, hint=hint, **fields)
        self.close(cause)

    def emit_auth(self, accepted: bool, **fields):
        fields.setdefault("signature_b64_chars", None)
        fields.setdefault("signature_bytes", None)
        fields.setdefault("reason", None)
        fields.setdefault("hint", None)
        self.emit("auth", kid=self.kid, accepted=accepted, **fields)

    # --- rows ---------------------------------------------------------------------------------

    def read_rows(self, data: bytes):
        if len(data) >= YIELD_AFTER_BYTES:
            self.yield_to_others()
        rows, error = self.ilp.feed(data)
        emit = self.server.events.emit
        limit = self.server.config.fault_rows if self.server.config.fault == "close-after-rows" else None
        if limit is not None:
            rows = rows[: max(0, limit - self.rows)]
        for row in rows:
            emit({"event": "row", "conn": self.conn, **row})
        self.rows += len(rows)
        if limit is not None and self.rows >= limit:
            self.close("fault")
        elif error is not None:
            self.emit("ilp_error", **error)
            self.close("ilp_error")

    def yield_to_others(self):
        """Read no more in this turn of the event loop; resume in the next one.

        uvloop (libuv) calls data_received up to 32 times in a row while a stream stays readable,
        with up to 256 KiB each: parsing that took over a second, during which no other connection
        was served and a SIGTERM waited. One read per turn keeps every connection served.
        """
        self.transport.pause_reading()
        asyncio.get_running_loop().call_soon(self.resume_reading)

    def resume_reading(self):
        if self.state == "ILP" and not self.server.reading_stopped and not self.transport.is_closing():
            self.transport.resume_reading()

    # --- helpers ------------------------------------------------------------------------------

    def emit(self, event: str, **fields):
        self.server.events.emit({"event": event, "conn": self.conn, **fields})

    def close(self, cause: str):
        if self.state != "CLOSED":
            self.state = "CLOSED"
            self.cause = cause
            self.transport.close()


class StubServer:
    """Listens on one address and runs Connection objects; start() and stop() from its loop."""

    def __init__(self, keys: dict, events: EventLog, config: StubConfig | None = None):
        self.keys = keys
        self.events = events
        self.config = config or StubConfig()
        self.connections: set[Connection] = set()
        self.reading_stopped = False  # set once a stop begins
        self._next_conn = 0
        self._servers: list[asyncio.AbstractServer] = []
        self._flusher: asyncio.Task | None = None
        self.host: str | None = None
        self.port: int | None = None

    def _new_connection(self) -> Connection:
        self._next_conn += 1
        connection = Connection(self, self._next_conn)
        self.connections.add(connection)
        return connection

    def forget(self, connection: Connection):
        self.connections.discard(connection)

    async def start(self) -> tuple[str, int]:
        if self.config.fault is not None and self.config.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.config.fault!r}; known: {', '.join(FAULTS)}")
        loop = asyncio.get_running_loop()
        first = await loop.create_server(self._new_connection, self.config.host, self.config.port, reuse_address=True)
        self._servers.append(first)
        self.host, self.port = first.sockets[0].getsockname()[:2]
        for host in self.config.also_hosts:  # the same port on every further address
            self._servers.append(await loop.create_server(self._new_connection, host, self.port, reuse_address=True))
        self._flusher = asyncio.create_task(self._flush_periodically())
        self.events.emit(self.listening_event())
        return self.host, self.port

    def listening_event(self) -> dict:
        event = {"event": "listening", "host": self.host, "port": self.port}
        if self.config.also_hosts:
            event["also_hosts"] = list(self.config.also_hosts)
        if self.config.fault:
            event["fault"] = self.config.fault
        return event

    async def _flush_periodically(self):
        while True:
            await asyncio.sleep(self.config.flush_interval)
            self.events.flush()

    def stop_reading(self):
        """Read nothing more from any connection (what was read is still parsed and recorded).

        The first step of a stop (the signal handler takes it at once): from then on no turn of the
        loop is spent parsing, so the later steps of the stop do not wait behind a busy stream. With
        uvloop, before this and Connection.yield_to_others, SIGTERM to exit took 4.5 s; now 0.1 s.
        """
        self.reading_stopped = True
        for connection in self.connections:
            if connection.transport is not None and not connection.transport.is_closing():
                connection.transport.pause_reading()

    async def stop(self):
        """Stop listening, close every connection, record their close events, flush."""
        self.stop_reading()
        for listener in self._servers:
            listener.close()
        pending = [c.closed for c in self.connections]
        for connection in list(self.connections):
            if connection.state in ("KEY_ID", "SIGNATURE"):
                connection.reject("server_stop", {}, cause="server_stop")
            else:
                connection.close("server_stop")
        if pending:
            await asyncio.wait(pending, timeout=5)
        if self._flusher is not None:
            self._flusher.cancel()
        self.events.emit({"event": "stopped"})
        self.events.flush()
