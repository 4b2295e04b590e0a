"""The ILP/TCP server: an asyncio adapter around one state machine per connection (machine.py).

A Connection feeds its machine (through the fault layer, faults.py, when the stub injects one) the
bytes asyncio delivers, the time at each Wake it asked for, the peer's close and the server's stop,
and carries out the actions that come back, in order: write bytes, write events, close the
transport, (re)schedule its one timer. What the protocol says is the machine's; what is left here
is the transport's: the listening sockets, the timer, the events file's flushes, and pausing a
busy stream so that it does not hold the loop.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from . import faults, tls
from .events import EventLog
from .faults import PARAMETERS
from .machine import Close, Emit, EmitRows, Limits, Machine, Send, State, Wake
from .schema import load_schema
from .tables import Tables

__all__ = ["Connection", "StubConfig", "StubServer"]


@dataclass
class StubConfig(Limits):
    """Every setting of the stub: the machine's limits, and the adapter's own."""

    host: str = "127.0.0.1"
    also_hosts: tuple[str, ...] = ()  # more addresses on the same port (e.g. "::1" for a snippet's "localhost")
    port: int = 0
    flush_interval: float = 0.2  # seconds between flushes of the events file
    fault: str | None = None  # a misbehaviour to inject, one of faults.FAULTS (for testing clients)
    fault_delay: float = PARAMETERS["fault_delay"].default  # seconds, for challenge-delayed
    fault_rows: int = PARAMETERS["fault_rows"].default  # rows, for close-after-rows
    schema: str | None = None  # a schema file (schema.py): tables declared before any row, as DECIMAL columns need
    tls: bool = False  # speak TLS on the port (tls.py): a throwaway CA and certificate, or tls_cert and tls_key
    tls_dir: str | None = None  # where the throwaway CA and certificate go (default: a folder made for the run)
    tls_cert: str | None = None  # a user's own certificate (PEM) ...
    tls_key: str | None = None  # ... and its key


def _acknowledge_at_once(transport: asyncio.Transport) -> None:
    """Ask the kernel to acknowledge what arrives on this TLS connection at once (Linux's TCP_QUICKACK, which
    it clears again by itself, hence once per read), instead of delaying the ACK by up to 40 ms.

    A client that leaves Nagle's algorithm on holds each small TLS record until the one before it is
    acknowledged: the Java client (questdb-client 1.0.1) sends ChangeCipherSpec, then Finished, then the key
    id, and waited out a delayed ACK for each (measured: 110 ms per connection, 70 ms with this). Timing
    only: nothing the server answers changes."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    sock = transport.get_extra_info("socket")
    if quickack is not None and sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
        except OSError:
            pass  # the connection is closing: there is nothing left to acknowledge


YIELD_AFTER_BYTES = 64 * 1024  # a read this large ends the connection's turn (Connection.yield_to_others)


class Connection(asyncio.Protocol):
    def __init__(self, server: StubServer, conn_id: int):
        self.server = server
        self.conn = conn_id
        config = server.config
        self.machine = Machine(conn_id, server.keys, config, tables=server.tables)
        if config.fault is None:
            self.handler = self.machine  # what the adapter feeds: the machine, or the fault layer over it
            self.receive = self.machine.receive
        else:
            self.handler = faults.inject(config.fault, self.machine, config)
            self.receive = self._receive_through_the_fault
        self.emit = server.events.emit
        # TLS (serve --tls): a session over memory BIOs, so that a failed handshake is this connection's auth event
        self.tls = tls.TlsSession(server.tls_context) if server.tls_context is not None else None
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()
        self.closed = self.loop.create_future()

    # --- asyncio callbacks -------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.connected_at = self.loop.time()
        if self.tls is not None:
            _acknowledge_at_once(transport)
        peer = transport.get_extra_info("peername")
        peer = f"{peer[0]}:{peer[1]}" if peer else None
        self.do(self.handler.start(self.loop.time(), peer))

    def data_received(self, data: bytes):
        if self.tls is not None:
            _acknowledge_at_once(self.transport)
            data, failed = self.tls.receive(data)
            self._flush_tls()
            if failed is not None:
                self.do(self.machine.close("rejected", *failed))
                return
            if not data:
                return
        self.do(self.receive(data))
        if len(data) >= YIELD_AFTER_BYTES and self.machine.state is State.ROWS:
            self.yield_to_others()

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        if self.tls is not None and not self.tls.established:
            self.do(self.machine.close("peer_closed", "tls_handshake_abandoned"))
        self.do(self.handler.peer_closed())
        if self.timer is not None:
            self.timer.cancel()
        self.server.forget(self)
        self.closed.set_result(None)

    def stop(self):
        """The server stops: the machine ends the connection (recording it) and the transport closes."""
        self.do(self.handler.stop())

    def _receive_through_the_fault(self, data: bytes):
        return self.handler.receive(data, self.loop.time())

    # --- the machine's actions ---------------------------------------------------------------

    def do(self, actions) -> None:
        for action in actions:
            kind = type(action)
            if kind is Emit:
                event = action.event
                if event["event"] == "close":  # how long the connection lasted: the transport's to know
                    event["seconds"] = round(self.loop.time() - self.connected_at, 3)
                self.emit(event)
            elif kind is EmitRows:
                emit = self.emit
                for event in action.events():
                    emit(event)
            elif kind is Wake:
                self.wake_at(action.at)
            elif kind is Send:
                if not self.transport.is_closing():
                    if self.tls is None:
                        self.transport.write(action.data)
                    else:
                        self.tls.send(action.data)
                        self._flush_tls()
            elif kind is Close:
                self.transport.close()
            else:
                raise TypeError(f"not an action: {action!r}")

    def _flush_tls(self) -> None:
        """Write what the TLS session has for the client (handshake records, alerts, encrypted data)."""
        out = self.tls.outgoing()
        if out and not self.transport.is_closing():
            self.transport.write(out)

    def wake_at(self, at: float | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None if at is None else self.loop.call_at(at, self.woken, at)

    def woken(self, at: float) -> None:
        self.timer = None
        # The loop ran this timer for `at`: the machine sees at least that time, whatever the loop's
        # clock resolution (uvloop's is a millisecond).
        self.do(self.handler.tick(max(at, self.loop.time())))

    # --- the transport's own job ---------------------------------------------------------------

    def yield_to_others(self):
        """Read no more in this turn of the event loop; resume in the next one.

        An event loop may deliver several large reads of one readable stream in a row before it
        serves anything else (uvloop does); one read of YIELD_AFTER_BYTES or more per turn keeps every
        other connection, and a stop, from waiting behind one busy stream.
        """
        self.transport.pause_reading()
        self.loop.call_soon(self.resume_reading)

    def resume_reading(self):
        if self.machine.state is State.ROWS and not self.server.reading_stopped and not self.transport.is_closing():
            self.transport.resume_reading()


class StubServer:
    """Listens on one address and runs Connection objects; start() and stop() from its loop."""

    def __init__(self, keys: dict, events: EventLog, config: StubConfig | None = None):
        self.keys = keys
        self.events = events
        self.config = config or StubConfig()
        self.connections: set[Connection] = set()
        # every table's column types, for the server's lifetime, as QuestDB keeps them
        self.tables = Tables(load_schema(self.config.schema) if self.config.schema else None)
        self.tls_files = tls.files_for(self.config) if self.config.tls else None
        self.tls_context = tls.server_context(self.tls_files) if self.tls_files is not None else None
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
        if self.config.fault is not None:
            faults.get(self.config.fault)  # an unknown fault fails here, before any client connects
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
        if self.tls_files is not None:
            event["tls"] = {"ca": None if self.tls_files.ca is None else str(self.tls_files.ca)}
        return event

    async def _flush_periodically(self):
        while True:
            await asyncio.sleep(self.config.flush_interval)
            self.events.flush()

    def stop_reading(self):
        """Read nothing more from any connection (what was read is still parsed and recorded).

        The first step of a stop (the signal handler takes it at once): from then on no turn of the
        loop is spent parsing, so the later steps of the stop do not wait behind a busy stream.
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
            connection.stop()
        if pending:
            await asyncio.wait(pending, timeout=5)
        if self._flusher is not None:
            self._flusher.cancel()
        self.events.emit({"event": "stopped"})
        self.events.flush()
