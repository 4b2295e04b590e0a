"""Run a stub in-process, on its own event loop in a background thread.

    from server_stub import run_stub
    with run_stub("auth.txt") as stub:
        my_client.connect(stub.host, stub.port)      # authenticate and send rows
        rows = stub.wait_for_rows(3)                 # the parsed row events

The pytest fixture `ilp_stub` (pytest_plugin.py) wraps this with a freshly generated key.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .authdb import load_auth_db
from .events import EventLog
from .loops import new_event_loop
from .server import StubConfig, StubServer


class RunningStub:
    """A stub serving in a background thread; every event is also kept in memory."""

    def __init__(self, auth_db, events_path=None, loop: str | None = None, **config):
        """loop: "uvloop" or "asyncio" (loops.py; default uvloop when installed); config: StubConfig's fields."""
        self.auth_db = Path(auth_db)
        self.keys = load_auth_db(self.auth_db)
        self.config = replace(StubConfig(), **config)
        if events_path is not None:
            self.log = EventLog.to_file(events_path, keep_in_memory=True)
        else:
            self.log = EventLog(keep_in_memory=True)
        self._loop = new_event_loop(loop)
        self._server = StubServer(self.keys, self.log, self.config)
        # The server's tables (tables.Tables): `declare` one before rows for it arrive, as CREATE TABLE would.
        self.tables = self._server.tables
        # With tls=True: the CA file a client trusts (None for tls_cert and tls_key of one's own).
        self.tls_ca = self._server.tls_files.ca if self._server.tls_files is not None else None
        self._thread = threading.Thread(target=self._loop.run_forever, name="server-stub", daemon=True)
        self.host: str | None = None
        self.port: int | None = None

    def start(self) -> RunningStub:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._server.start(), self._loop)
        self.host, self.port = future.result(timeout=10)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self.log.close()

    def __enter__(self) -> RunningStub:  # noqa: PYI034 (the started stub is self)
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @contextmanager
    def extra_keys(self, keys: dict, replace: bool = False):
        """Accept ``keys`` ({kid: authdb key}, as load_auth_db gives them) too, until the block ends: as if
        their lines were in the auth file for a while. A kid already served keeps its own key, unless
        ``replace``: then the given key serves it for the block, and the file's key comes back after.
        Yields the kids served differently during the block, sorted."""
        changed = {kid: key for kid, key in keys.items() if replace or kid not in self.keys}
        saved = {kid: self.keys[kid] for kid in changed if kid in self.keys}
        self.keys.update(changed)  # the server's own dict: the next handshake sees them
        try:
            yield sorted(changed)
        finally:
            for kid in changed:
                self.keys.pop(kid, None)
            self.keys.update(saved)

    # --- reading the events -------------------------------------------------------------------

    def events(self, event: str | None = None, conn: int | None = None) -> list[dict]:
        """The events so far, optionally only those of one kind and/or one connection."""
        return [
            e
            for e in self.log.snapshot()
            if (event is None or e["event"] == event) and (conn is None or e.get("conn") == conn)
        ]

    def wait_for(self, condition, timeout: float = 10.0):
        """Wait until condition(list of events) is truthy; return its value (TimeoutError if not)."""
        return self.log.wait_for(condition, timeout)

    def wait_for_closed(self, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Wait until `count` connections have closed; return their close events."""
        return self.wait_for(lambda evs: _at_least([e for e in evs if e["event"] == "close"], count), timeout)

    def wait_for_auth(self, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Wait until `count` handshakes have a verdict; return the auth events."""
        return self.wait_for(lambda evs: _at_least([e for e in evs if e["event"] == "auth"], count), timeout)

    def wait_for_rows(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Wait until `count` rows arrived (from any connection); return the row events."""
        return self.wait_for(lambda evs: _at_least([e for e in evs if e["event"] == "row"], count), timeout)


def _at_least(items: list, count: int) -> list | None:
    return items if len(items) >= count else None


@contextmanager
def run_stub(auth_db, events_path=None, loop: str | None = None, **config):
    """Context manager: a started RunningStub, stopped (events flushed) on exit."""
    stub = RunningStub(auth_db, events_path, loop, **config)
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()
