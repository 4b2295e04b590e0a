"""One stub serving many examples at once, each connection attributed to its example by the key id
its handshake named (example_keys.py): so a column of the matrix (plain, TLS, each fault) needs one
stub, not one per example.

The stub runs in this process (server_stub.RunningStub: its own thread and event loop), its events
kept in memory and written to one events file per stub. A reader asks for an example's connections
with `connections(kid)`; `settle(kid, count)` waits until the stub has recorded the close of at least
`count` of them and of every one it has seen, which it does once the example's process has ended.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
from server_stub.records import Connection, by_connection
from server_stub.running import RunningStub

from .paths import SCHEMA
from .stubproc import StubProcess

SETTLE_POLL = 0.02  # seconds between two looks at the events while settling
PROCESS_FLUSH_INTERVAL = 0.02  # seconds between a stub process's flushes of its events file


class SharedStub:
    def __init__(self, name: str, auth_db: Path, events_path: Path, tls: bool = False, process: bool = False,
                 niceness: int = 0, **config):
        """name: what the stub is for ("plain", "tls", "fault challenge-delayed"); config: the fault's
        StubConfig fields (robustness.fault_config). process: run it as `python -m server_stub serve`
        (stubproc.py), under `nice` with `niceness`, its events read back from the file as they are
        flushed; otherwise in this process's own thread."""
        self.name = name
        self.events_path = Path(events_path)
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        if process:
            if config:
                raise ValueError(f"a stub process takes no StubConfig fields here: {sorted(config)}")
            self.stub = StubProcess(auth_db, self.events_path, "--flush-interval", str(PROCESS_FLUSH_INTERVAL),
                                    tls=tls, niceness=niceness)
        else:
            tls_config = {"tls": True, "tls_dir": str(self.events_path.with_suffix(".tls"))} if tls else {}
            self.stub = RunningStub(auth_db, self.events_path, schema=str(SCHEMA), **tls_config, **config)
        self._process = process
        self._lock = threading.Lock()
        self._read = 0  # events (in this process) or bytes of the events file (a stub process) read so far
        self._partial = b""  # a stub process's last line, not yet whole
        self._conns: dict[int, Connection] = {}
        self._by_kid: dict[str | None, dict[int, Connection]] = {}

    @property
    def host(self) -> str:
        return self.stub.host

    @property
    def port(self) -> int:
        return self.stub.port

    @property
    def tls_ca(self) -> Path | None:
        return self.stub.tls_ca

    def start(self) -> SharedStub:
        if self._process:
            self.stub.__enter__()
        else:
            self.stub.start()
        return self

    def stop(self) -> None:
        self.stub.stop()
        self._index()

    def _new_events(self) -> list[dict]:
        if not self._process:
            new = self.stub.log.since(self._read)
            self._read += len(new)
            return new
        with open(self.events_path, "rb") as file:
            file.seek(self._read)
            data = file.read()
        self._read += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        return [orjson.loads(line) for line in lines if line.strip()]

    def _index(self) -> None:
        with self._lock:
            new = self._new_events()
            by_connection(new, into=self._conns)
            for event in new:
                if event["event"] == "auth":
                    self._by_kid.setdefault(event.get("kid"), {})[event["conn"]] = self._conns[event["conn"]]

    def connections(self, kid: str) -> dict[int, Connection]:
        """{connection number: its events} of every connection whose handshake named `kid`, so far."""
        self._index()
        with self._lock:
            return dict(self._by_kid.get(kid, {}))

    def all_connections(self) -> dict[int, Connection]:
        """Every connection so far, whatever key id it named (the negative matrix finds its own by peer)."""
        self._index()
        with self._lock:
            return dict(self._conns)

    def unattributed(self) -> int:
        """Connections that named no key id (closed before it, or a TLS handshake that failed)."""
        self._index()
        with self._lock:
            return sum(1 for c in self._conns.values() if c.auth is None or c.auth.get("kid") is None)

    def settle(self, kid: str, count: int, timeout: float) -> dict[int, Connection]:
        """Wait (at most `timeout` seconds) until at least `count` connections named `kid` and every one
        of them is closed; return them as they are then."""
        deadline = time.monotonic() + timeout
        while True:
            conns = self.connections(kid)
            if len(conns) >= count and all(c.close is not None for c in conns.values()):
                return conns
            if time.monotonic() >= deadline:
                return conns
            time.sleep(SETTLE_POLL)
