"""Where each client snippet runs, so that snippets can run at the same time without confusing each
other's connections.

Every documentation snippet authenticates as the documentation's key id (testUser1), so the matrix's
attribution by key id (interop/shared_stub.py) cannot tell two snippets apart on one stub. Instead:

- a snippet whose port can be substituted (its code names 9009 outside a comment: substitute.names_port)
  gets a **seat of its own**: an in-process stub (server_stub.RunningStub) on a port nobody else of this
  run uses, the port substituted into its code; every connection that stub sees is the snippet's;
- a snippet that cannot be moved (it relies on a client's default address, 127.0.0.1:9009) runs on
  the **documented port**: one stub listening on 9009 for the whole check (it keeps the port ours),
  used by one snippet at a time (`Seats.documented_lock`, held around each of its runs);
- when 9009 was busy at the start, every snippet gets a seat of its own, as before (port_moved).

Fault runs (faults.py) need a stub with the fault on the very port the snippet's code names, so a
seat's fault runs come one after another on it, after its attempts (`fault_stub`); the seats' fault
runs overlap each other. A port handed out once is never handed out again in the run (`_booked`), so a
seat's port is still its own when its fault runs rebind it. The documented port's fault runs come once
every attempt is done and its stub retired (`retire_documented`): 9009 is then rebound for each fault
run, as before seats, and nothing else of the run can be confused by whoever takes it in between.

TLS seats share one throwaway CA and server certificate (made once: `tls_files`), so every TLS snippet
trusts the same CA file and the Java snippets the same truststore.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from server_stub.running import RunningStub
from server_stub.tls import make_files

from ..robustness import fault_config

DOCUMENTED_PORT = 9009
START_ATTEMPTS = 20  # a port the OS offers may be booked already, or taken on ::1: ask again
REBIND_SECONDS = 5.0  # a fault stub waits this long for its port (another run may probe 9009 for a moment)
REBIND_POLL = 0.05


def ipv6_loopback() -> bool:
    """Whether ::1 can be bound here (a snippet's "localhost" may resolve to it first)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def documented_port_is_free() -> bool:
    """True when 9009 can be bound on 127.0.0.1 (and on ::1 where the machine has IPv6)."""
    hosts = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if ipv6_loopback() else [])
    for family, host in hosts:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, DOCUMENTED_PORT))
        except OSError:
            return False
    return True


@dataclass
class Seat:
    """The stub that judges one client snippet, and the port its substituted code names. Hold `lock`
    around each judgement (a whole repetition): for the documented port it is the port's one lock."""

    own_stub: RunningStub | None  # None: the documented stub (Seats.holder), whichever is serving now
    port: int  # the port the snippet's code names: its own stub's, or 9009
    tls: bool
    own: bool  # a stub and port of its own; False: the documented port, one snippet at a time
    config: dict  # run_stub keyword arguments of a stub like the judging one, on the same port (faults add theirs)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seats: Seats | None = field(default=None, repr=False)

    @property
    def stub(self) -> RunningStub:
        return self.own_stub if self.own_stub is not None else self.seats.holder


class Seats:
    """Hands out seats for one run of the check; `close()` stops every stub it started."""

    def __init__(self, auth_db: Path, tls_dir: Path, documented: bool):
        """documented: 9009 is free; a stub holds it for the snippets that cannot be moved."""
        self.auth_db = auth_db
        self.hosts = ("::1",) if ipv6_loopback() else ()
        self.tls_files = make_files(tls_dir)  # one CA for every TLS seat
        self.tls_config = {"tls": True, "tls_cert": str(self.tls_files.cert), "tls_key": str(self.tls_files.key)}
        self._lock = threading.Lock()
        self._booked: set[int] = {DOCUMENTED_PORT}
        self._started: list[RunningStub] = []
        self.documented_lock = threading.Lock()
        self.documented_config = {"port": DOCUMENTED_PORT, "also_hosts": self.hosts}
        self.holder: RunningStub | None = None
        if documented:
            try:
                self.holder = self._start(self.documented_config)
            except OSError:  # taken since it was found free: run as when it is busy
                self.holder = None
        self._documented = self.holder is not None

    @property
    def port_moved(self) -> bool:
        """9009 was busy at the start: every seat is one of its own."""
        return not self._documented

    def retire_documented(self) -> None:
        """Every attempt is done: stop the documented stub, so that fault runs can take 9009 in turn."""
        with self.documented_lock:
            if self.holder is not None:
                self._stop(self.holder)
                self.holder = None

    @property
    def tls_ca(self) -> Path:
        return self.tls_files.ca

    def own(self, tls: bool) -> Seat:
        """A started stub of its own on a port never handed out before in this run."""
        for _ in range(START_ATTEMPTS):
            config = {"port": 0, "also_hosts": self.hosts, **(self.tls_config if tls else {})}
            try:
                stub = self._start(config)
            except OSError:  # the port was free on 127.0.0.1 but not on ::1
                continue
            with self._lock:
                if stub.port not in self._booked:
                    self._booked.add(stub.port)
                    return Seat(stub, stub.port, tls, own=True, config={**config, "port": stub.port})
            self._stop(stub)  # a booked port, freed by its stub between its attempts and its fault runs
        raise RuntimeError(f"no free port for a {'TLS ' if tls else ''}stub after {START_ATTEMPTS} attempts")

    def documented(self, tls: bool) -> Seat:
        """The seat of a snippet that cannot be moved: its code names 9009. A plain one is judged by the
        documented stub; one that asks for TLS by a TLS stub of its own (its connections go to 9009 and
        fail there, as they would have before seats), its runs holding the documented lock all the same."""
        if tls:
            seat = self.own(tls=True)
            seat.port, seat.own, seat.lock = DOCUMENTED_PORT, False, self.documented_lock
            return seat
        return Seat(None, DOCUMENTED_PORT, False, own=False, config=dict(self.documented_config),
                    lock=self.documented_lock, seats=self)

    def release(self, seat: Seat) -> None:
        """The seat's attempts are done: stop its own stub (its port stays booked for its fault runs)."""
        if seat.own_stub is not None:
            self._stop(seat.own_stub)

    @contextmanager
    def fault_stub(self, seat: Seat, fault: dict):
        """A started stub with `fault` where the seat's snippet connects, for one run. An own seat must be
        released first; the documented port must be retired (retire_documented)."""
        config = {**seat.config, **fault_config(fault)}
        lock = seat.lock if seat.own else self.documented_lock
        with lock:
            if not seat.own and self.holder is not None:
                raise RuntimeError("a fault run on the documented port before its stub was retired")
            stub = self._rebind(config)
            try:
                yield stub
            finally:
                self._stop(stub)

    def _rebind(self, config: dict) -> RunningStub:
        """A stub on the port the config names, waiting REBIND_SECONDS at most while it is in use."""
        deadline = time.monotonic() + REBIND_SECONDS
        while True:
            try:
                return self._start(config)
            except OSError as error:
                if error.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(REBIND_POLL)

    def close(self) -> None:
        with self._lock:
            started, self._started = self._started, []
        for stub in started:
            stub.stop()

    def _start(self, config: dict) -> RunningStub:
        stub = RunningStub(self.auth_db, **config)
        try:
            stub.start()
        except BaseException:
            stub.stop()
            raise
        with self._lock:
            self._started.append(stub)
        return stub

    def _stop(self, stub: RunningStub) -> None:
        stub.stop()
        with self._lock:
            if stub in self._started:
                self._started.remove(stub)
