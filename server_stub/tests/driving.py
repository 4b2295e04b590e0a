"""The stub's connection driven by bytes and ticks alone: a machine (machine.py), or a fault layer over
one (faults.py), whose actions are carried out on plain lists. No socket, no transport, no event loop."""

from __future__ import annotations

import types

from server_stub import faults, records
from server_stub.events import encode
from server_stub.machine import Close, Emit, EmitRows, Limits, Machine, Send, Wake

PEER = "127.0.0.1:40000"


class Driven:
    """What a connection's handler (a Machine or a faults.Layer) did: .events, .sent, .closed, .wake."""

    def __init__(self, handler, now: float = 0.0):
        self.handler = handler
        self.machine = handler.machine if isinstance(handler, faults.Layer) else handler
        self.events: list[dict] = []
        self.sent = bytearray()
        self.sends: list[bytes] = []
        self.closed: str | None = None  # the cause of the Close action, once there was one
        self.gone = False  # the connection ended without a Close (peer_closed)
        self.wake: float | None = None
        self.now = now
        self.fed = 0  # bytes delivered while the connection was open
        self.last: list = []
        self.apply(handler.start(now, PEER))

    @property
    def open(self) -> bool:
        return self.closed is None and not self.gone

    def apply(self, actions) -> list:
        self.last = list(actions)
        for action in self.last:
            assert self.closed is None, f"{action!r} after Close"
            kind = type(action)
            if kind is EmitRows:
                assert action.rows, "an EmitRows without rows"
                self.events += action.events()
            elif kind is Emit:
                self.events.append(action.event)
            elif kind is Send:
                self.sent += action.data
                self.sends.append(action.data)
            elif kind is Close:
                self.closed = action.cause
            elif kind is Wake:
                self.wake = action.at
            else:
                raise AssertionError(f"not an action: {action!r}")
        return self.last

    def receive(self, data: bytes) -> list:
        """One read; nothing once the connection is closed (a transport delivers nothing then)."""
        if not self.open:
            return []
        self.fed += len(data)
        if isinstance(self.handler, faults.Layer):
            return self.apply(self.handler.receive(data, self.now))
        return self.apply(self.handler.receive(data))

    def tick(self, now: float) -> list:
        self.now = now
        return self.apply(self.handler.tick(now))

    def run_until(self, now: float) -> None:
        """Every Wake up to `now`, in order, as a timer would fire them; then the clock reads `now`."""
        while self.open and self.wake is not None and self.wake <= now:
            self.tick(self.wake)
        self.now = now

    def peer_closed(self) -> list:
        """The connection is gone (the adapter calls this from connection_lost, after a Close too)."""
        self.gone = self.gone or self.open
        return self.apply(self.handler.peer_closed())

    def stop(self) -> list:
        return self.apply(self.handler.stop())

    # reading what happened

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["event"] == kind]

    @property
    def auth(self) -> dict:
        (auth,) = self.of("auth")
        return auth

    @property
    def close(self) -> dict:
        (close,) = self.of("close")
        return close

    @property
    def challenge(self) -> bytes:
        """The 512 challenge bytes, from what was sent up to its newline."""
        end = self.sent.index(b"\n")
        return bytes(self.sent[:end])

    def check(self) -> None:
        """The invariants of every connection (machine.py's docstring), on an ended connection."""
        kinds = [e["event"] for e in self.events]
        assert kinds[0] == "connect" and kinds.count("connect") == 1, kinds
        assert kinds.count("auth") == 1, kinds
        assert kinds.count("close") == 1 and kinds[-1] == "close", kinds
        auth_at = kinds.index("auth")
        rows_at = [i for i, kind in enumerate(kinds) if kind in ("row", "ilp_error")]
        assert all(i > auth_at for i in rows_at), kinds
        if not self.events[auth_at]["accepted"]:
            assert not rows_at, kinds
        assert all(e["conn"] == self.machine.conn for e in self.events)
        close = self.events[-1]
        assert close["rows"] == kinds.count("row") and close["bytes"] == self.fed, (close, self.fed)
        assert self.closed == close["cause"] or (self.gone and self.closed is None), (self.closed, close)
        assert self.wake is None and self.machine.deadline is None
        for event in self.events:
            records.check(event)
            assert encode(event).count(b"\n") == 1


def machine(keys: dict, conn: int = 1, challenge=None, **limits) -> Machine:
    extra = {} if challenge is None else {"challenge": challenge}
    return Machine(conn, keys, Limits(**limits), **extra)


def driven(keys: dict, fault: str | None = None, now: float = 0.0, **settings) -> Driven:
    """A started connection: the machine, through `fault` when given (settings: Limits' fields and
    the fault's parameters)."""
    parameters = {name: settings.pop(name) for name in list(settings) if name in faults.PARAMETERS}
    handler = machine(keys, **settings)
    if fault is not None:
        config = {name: p.default for name, p in faults.PARAMETERS.items()} | parameters
        handler = faults.inject(fault, handler, types.SimpleNamespace(**config))
    return Driven(handler, now)
