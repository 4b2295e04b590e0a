"""The load generator, the same for the stub and for QuestDB.

Handshakes: `workers` client processes (multiprocessing, spawn), each making complete handshakes one
after another with the reference client (server_stub.client, the key parsed once per process):
connect, key id line, read the challenge to its \\n, sign it (raw P1363 r||s, each scalar padded to 32
bytes, standard base64), send it + \\n, close. A signature cannot be made ahead (the challenge is
random), so the client's cost per handshake is one ECDSA sign plus the socket calls;
several processes keep the server busy while one of them signs. Every PROBE_EVERY-th handshake also
carries one row (in the same write as the signature) so that acceptance can be checked on QuestDB,
which says nothing on the wire.

Rows: one authenticated connection; a sender thread writes the pre-built payload in big chunks while
a reader thread notices when the server closes the connection.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

from server_stub.client import CORRECT, Key, connect

SOCKET_TIMEOUT = 10.0
PROBE_EVERY = 100
PROBE_TABLE = "bench_probe"
MAX_ERRORS = 50  # per worker: then it stops (the server is gone or refusing)
SETUP_TIMEOUT = 60.0  # spawning the workers and loading the key
_CLK_TCK = os.sysconf("SC_CLK_TCK")



def handshake(key: Key, host: str, port: int, extra: bytes = b"") -> socket.socket:
    """One complete handshake by the reference client (server_stub.client), `extra` in the signature's write;
    returns the open socket (the caller closes it or streams rows). What went wrong raises ConnectionError."""
    conn = connect(host, port, SOCKET_TIMEOUT, nodelay=True)
    outcome = conn.handshake(key, dataclasses.replace(CORRECT, rows=extra) if extra else CORRECT)
    if outcome.problem is not None:
        conn.close()
        raise ConnectionError(outcome.problem)
    return conn.sock


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat), softirq work of loopback TCP included."""
    with open("/proc/stat", "rb") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: all but idle, iowait and steal (guest is in user)
    return (sum(fields[:7]) - fields[3] - fields[4]) / _CLK_TCK


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) from /proc; None when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # fields 14 and 15 of proc(5)


# --- handshakes ---------------------------------------------------------------------------------

@dataclass
class HandshakeLoad:
    workers: int
    warmup: float
    duration: float
    handshakes: int = 0  # completed inside the measured window
    total: int = 0  # completed in all, warm-up included
    probes: int = 0  # rows sent with a handshake (PROBE_TABLE)
    errors: int = 0
    first_error: str | None = None
    generator_cpu_cores: float | None = None  # CPU seconds of the client processes / window
    server_cpu_cores: float | None = None
    machine_busy_cores: float | None = None  # every process on the machine, kernel work included
    latency_ms: dict = field(default_factory=dict)  # p50, p99 of one handshake, client side
    per_second_series: list[int] = field(default_factory=list)  # handshakes in each second of the window

    @property
    def per_second(self) -> float:
        return self.handshakes / self.duration

    def as_dict(self) -> dict:
        return {"per_second": round(self.per_second, 1), "handshakes": self.handshakes, "total": self.total,
                "seconds": self.duration, "warmup_seconds": self.warmup, "workers": self.workers,
                "probes": self.probes, "errors": self.errors, "first_error": self.first_error,
                "generator_cpu_cores": _round(self.generator_cpu_cores),
                "server_cpu_cores": _round(self.server_cpu_cores),
                "machine_busy_cores": _round(self.machine_busy_cores), "latency_ms": self.latency_ms,
                "per_second_series": self.per_second_series}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def run_handshakes(host: str, port: int, jwk: dict, workers: int, warmup: float, duration: float,
                   server_pid: int | None = None) -> HandshakeLoad:
    """`workers` processes make handshakes for warmup + duration seconds; counts the measured window."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(workers + 1)
    go = ctx.Event()
    start = ctx.Value("d", 0.0, lock=False)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(i, host, port, jwk, warmup, duration, ready, go, start, results),
                         daemon=True) for i in range(workers)]
    load = HandshakeLoad(workers, warmup, duration)
    try:
        for proc in procs:
            proc.start()
        try:
            ready.wait(SETUP_TIMEOUT)
        except threading.BrokenBarrierError:
            raise RuntimeError(f"the {workers} client processes did not start within {SETUP_TIMEOUT:.0f} s") from None
        begin = time.monotonic() + 0.05
        start.value = begin
        go.set()
        _sleep_until(begin + warmup)
        server_cpu = process_cpu_seconds(server_pid) if server_pid else None
        machine = machine_busy_seconds()
        _sleep_until(begin + warmup + duration)
        load.machine_busy_cores = (machine_busy_seconds() - machine) / duration
        if server_cpu is not None:
            end_cpu = process_cpu_seconds(server_pid)
            load.server_cpu_cores = None if end_cpu is None else (end_cpu - server_cpu) / duration
        reports = [results.get(timeout=SOCKET_TIMEOUT * 3) for _ in procs]
    finally:
        for proc in procs:
            if proc.pid is None:
                continue  # never started
            proc.join(SOCKET_TIMEOUT)
            if proc.is_alive():
                proc.kill()
                proc.join()
    latencies = []
    cores = 0.0
    load.per_second_series = [sum(column) for column in zip(*(r["buckets"] for r in reports), strict=True)]
    for report in reports:
        load.handshakes += report["counted"]
        load.total += report["total"]
        load.probes += report["probes"]
        load.errors += report["errors"]
        load.first_error = load.first_error or report["first_error"]
        cores += report["cpu"] / report["wall"] if report["wall"] > 0 else 0.0
        latencies += report["latencies"]
    load.generator_cpu_cores = cores
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100)
        load.latency_ms = {"p50": round(cuts[49] * 1000, 3), "p99": round(cuts[98] * 1000, 3)}
    return load


def _sleep_until(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(left)


def _worker(index, host, port, jwk, warmup, duration, ready, go, start, results) -> None:
    key = Key.from_jwk(jwk)
    ready.wait(SETUP_TIMEOUT)
    go.wait(SETUP_TIMEOUT)
    begin = start.value
    measure_from, measure_to = begin + warmup, begin + warmup + duration
    _sleep_until(begin)
    counted = total = probes = errors = 0
    first_error = None
    latencies: list[float] = []
    buckets = [0] * max(1, int(duration))  # handshakes completed in each full second of the window
    cpu_from = wall_from = None
    while True:
        now = time.monotonic()
        if now >= measure_to or errors >= MAX_ERRORS:
            break
        if cpu_from is None and now >= measure_from:
            cpu_from, wall_from = time.process_time(), now
        probe = total % PROBE_EVERY == PROBE_EVERY - 1
        extra = b"%s,worker=w%d n=%di\n" % (PROBE_TABLE.encode(), index, total) if probe else b""
        try:
            handshake(key, host, port, extra).close()
        except OSError as error:
            errors += 1
            first_error = first_error or f"{type(error).__name__}: {error}"
            continue
        done = time.monotonic()
        total += 1
        probes += probe
        if measure_from <= done < measure_to:
            counted += 1
            latencies.append(done - now)
            second = int(done - measure_from)
            if second < len(buckets):
                buckets[second] += 1
    if cpu_from is None:
        cpu_from, wall_from = time.process_time(), time.monotonic()
    results.put({"counted": counted, "total": total, "probes": probes, "errors": errors, "first_error": first_error,
                 "cpu": time.process_time() - cpu_from, "wall": time.monotonic() - wall_from,
                 "latencies": latencies, "buckets": buckets})


# --- rows -----------------------------------------------------------------------------------------

class RowStream:
    """One authenticated connection streaming `chunks`; times in time.perf_counter() seconds."""

    def __init__(self, host: str, port: int, signer: Key, chunks: list[bytes], half_close: bool):
        self.host, self.port, self.signer, self.chunks = host, port, signer, chunks
        self.half_close = half_close  # shut our side down after the last chunk (the stub then closes)
        self.sock: socket.socket | None = None
        self.first_byte: float | None = None
        self.all_sent: float | None = None
        self.closed_at: float | None = None
        self.sent_bytes = 0
        self.send_error: str | None = None
        self.closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cpu_from = 0.0

    def start(self) -> None:
        self.sock = handshake(self.signer, self.host, self.port)
        self.sock.settimeout(None)  # the sender blocks while the server is behind; shutdown() ends it
        self._cpu_from = time.process_time()
        self._threads = [threading.Thread(target=self._send, daemon=True),
                         threading.Thread(target=self._read, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _send(self) -> None:
        try:
            self.first_byte = time.perf_counter()
            for chunk in self.chunks:
                self.sock.sendall(chunk)
                self.sent_bytes += len(chunk)
            self.all_sent = time.perf_counter()
            if self.half_close:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            self.send_error = f"{type(error).__name__}: {error}"

    def _read(self) -> None:
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        self.closed_at = time.perf_counter()
        self.closed.set()

    def finish(self, timeout: float = SOCKET_TIMEOUT) -> float:
        """Close our side and wait for both threads; the generator's CPU seconds since start()."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for thread in self._threads:
            thread.join(timeout)
        self.sock.close()
        return time.process_time() - self._cpu_from
