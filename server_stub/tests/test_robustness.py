"""Robustness under load and abuse: many idle connections, a million rows, SIGTERM mid-stream,
100,000 fuzz inputs straight into the ILP stream and the connection's machine (no socket), and the
adapter's pause of a busy stream.

Every test prints what it measured (run with `-s` to see it). The socket tests drive
`python -m server_stub serve` as a subprocess, as other tools script it, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import types

import pytest
from driving import Driven
from wire import TIMEOUT, b64, connect, raw_signature, read_line

from server_stub import names
from server_stub.authdb import load_auth_db
from server_stub.client import Key
from server_stub.events import EventLog, encode
from server_stub.ilp import IlpStream, format_row, parse_line
from server_stub.machine import CHALLENGE_BYTES, Limits, Machine, State
from server_stub.reasons import catalogue
from server_stub.server import YIELD_AFTER_BYTES, Connection, StubConfig
from server_stub.tables import Tables

IDLE_CONNECTIONS = 1000
RSS_BOUND_KB = 200 * 1024
CLIENTS = 100
ROWS_PER_CLIENT = 10_000
PARSER_INPUTS = 50_000
HANDSHAKE_INPUTS = 50_000


# --- a `serve` subprocess and its events file ----------------------------------------------------


class Serve:
    """`python -m server_stub serve` in a subprocess; .host/.port from its one stdout line."""

    def __init__(self, auth_db, tmp_path, *extra):
        self.events_path = tmp_path / "events.jsonl"
        self.stderr_path = tmp_path / "stub.stderr"
        cmd = [sys.executable, "-m", "server_stub", "serve", "--auth-db", str(auth_db), "--port", "0",
               "--events", str(self.events_path), *extra]
        with open(self.stderr_path, "w") as stderr:  # a file, not a pipe: a chatty stub never blocks
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready, "the stub printed no listening line within 30 s"
        self.listening = json.loads(self.proc.stdout.readline())
        self.host, self.port = self.listening["host"], self.listening["port"]

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS line")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then its exit code (stdout must have stayed silent after the listening line)."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        assert out == "", out
        return self.proc.returncode

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def serve(two_keys, tmp_path):
    started: list[Serve] = []

    def start(*extra) -> Serve:
        started.append(Serve(two_keys[0], tmp_path, *extra))
        return started[-1]

    yield start
    for stub in started:
        stub.kill()


class EventsTail:
    """Follows a growing events file; .events holds every complete line read so far, parsed."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.events: list[dict] = []

    def poll(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        new = [json.loads(line) for line in lines if line]
        self.events += new
        return new

    def wait_for(self, condition, timeout: float, interval: float = 0.01):
        """Poll until condition(self.events) is truthy; return it (AssertionError after timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            result = condition(self.events)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s; last events: {self.events[-5:]}")
            time.sleep(interval)


def count(events, kind: str, **fields) -> int:
    return sum(1 for e in events if e["event"] == kind and all(e.get(k) == v for k, v in fields.items()))


def peer_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


def raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def open_idle_connections(stub, n: int) -> list[socket.socket]:
    """n connections that never send a newline: even ones send nothing, odd ones a partial key id."""
    socks = []
    for i in range(n):
        sock = socket.create_connection((stub.host, stub.port), timeout=TIMEOUT)
        if i % 2:
            sock.sendall(b"idle-%d" % i)
        socks.append(sock)
    return socks


def authenticate(stub, kid: str, jwk: dict) -> tuple[socket.socket, int]:
    """A good handshake; returns the socket and how many bytes it took on the wire."""
    sock = connect(stub)
    sock.sendall(kid.encode() + b"\n")
    challenge = read_line(sock)
    assert len(challenge) == CHALLENGE_BYTES
    line = b64(raw_signature(jwk, challenge)) + b"\n"
    sock.sendall(line)
    return sock, len(kid) + 1 + len(line)


# --- 1. a thousand idle connections ----------------------------------------------------------------


def test_thousand_idle_connections_do_not_delay_a_good_client(serve, two_keys):
    raise_nofile(IDLE_CONNECTIONS * 2 + 256)
    stub = serve("--handshake-timeout", "30", "--flush-interval", "0.02")
    tail = EventsTail(stub.events_path)
    rss_before = stub.rss_kb()

    started = time.monotonic()
    idle = open_idle_connections(stub, IDLE_CONNECTIONS)
    tail.wait_for(lambda evs: count(evs, "connect") >= IDLE_CONNECTIONS, timeout=30)
    open_seconds = time.monotonic() - started
    idle_peers = {peer_of(s) for s in idle}
    time.sleep(0.2)  # let the odd connections' partial key ids arrive and be buffered
    rss_with = stub.rss_kb()

    # A good client while the 1,000 are open: connect -> accepted auth event in the file.
    alice = two_keys[1]["alice"]
    t0 = time.monotonic()
    good, _ = authenticate(stub, "alice", alice)
    t_sent = time.monotonic()
    good_peer = peer_of(good)
    conn = tail.wait_for(lambda evs: next((e["conn"] for e in evs if e["event"] == "connect"
                                           and e["peer"] == good_peer), None), timeout=5)
    auth = tail.wait_for(lambda evs: next((e for e in evs if e["event"] == "auth" and e["conn"] == conn), None),
                         timeout=5, interval=0.002)
    t_event = time.monotonic()
    assert auth["accepted"] is True, auth
    client_latency, event_latency = t_sent - t0, t_event - t0
    assert event_latency < 1.0
    good.sendall(b"t,c=good n=1i\n")
    good.close()
    # none of the idle connections has been decided yet (handshake timeout 30 s)
    time.sleep(0.1)
    tail.poll()
    assert count(tail.events, "auth") == 1

    # Close the idle ones ourselves: three in four with FIN, one in four with RST.
    for i, sock in enumerate(idle):
        if i % 4 == 3:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    tail.wait_for(lambda evs: count(evs, "close") >= IDLE_CONNECTIONS + 1, timeout=30)
    time.sleep(0.3)
    rss_after = stub.rss_kb()
    assert stub.stop() == 0, stub.stderr()
    tail.poll()

    events = tail.events
    assert events[-1] == {"event": "stopped"}
    idle_conns = {e["conn"] for e in events if e["event"] == "connect" and e["peer"] in idle_peers}
    assert len(idle_conns) == IDLE_CONNECTIONS
    idle_auths = [e for e in events if e["event"] == "auth" and e["conn"] in idle_conns]
    assert len(idle_auths) == IDLE_CONNECTIONS
    assert {(a["accepted"], a["reason_code"]) for a in idle_auths} == {(False, "closed_before_key_id")}
    idle_closes = [e for e in events if e["event"] == "close" and e["conn"] in idle_conns]
    assert len(idle_closes) == IDLE_CONNECTIONS
    assert all(c["cause"] == "peer_closed" and c["rows"] == 0 for c in idle_closes)
    assert sum(c["bytes"] for c in idle_closes) == sum(len(b"idle-%d" % i) for i in range(1, IDLE_CONNECTIONS, 2))
    (good_close,) = [e for e in events if e["event"] == "close" and e["conn"] == conn]
    assert (good_close["cause"], good_close["rows"]) == ("peer_closed", 1)

    print(f"\n[idle] {IDLE_CONNECTIONS} idle connections opened in {open_seconds:.3f} s; "
          f"stub RSS before {rss_before / 1024:.1f} MB, with them open {rss_with / 1024:.1f} MB, "
          f"after they closed {rss_after / 1024:.1f} MB")
    print(f"[idle] good client: handshake sent {client_latency * 1000:.1f} ms after connect, "
          f"accepted auth event seen {event_latency * 1000:.1f} ms after connect")
    assert max(rss_before, rss_with, rss_after) < RSS_BOUND_KB


def test_thousand_idle_connections_all_time_out(serve):
    raise_nofile(IDLE_CONNECTIONS * 2 + 256)
    timeout = 1.0
    stub = serve("--handshake-timeout", str(timeout))
    tail = EventsTail(stub.events_path)
    started = time.monotonic()
    idle = open_idle_connections(stub, IDLE_CONNECTIONS)
    opened = time.monotonic() - started
    tail.wait_for(lambda evs: count(evs, "close") >= IDLE_CONNECTIONS, timeout=timeout + 30, interval=0.05)
    all_closed = time.monotonic() - started
    rss = stub.rss_kb()
    # every client sees the stub's close (EOF, or a reset where it had unread bytes)
    for sock in idle:
        sock.settimeout(TIMEOUT)
        try:
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass
        sock.close()
    assert stub.stop() == 0, stub.stderr()
    tail.poll()
    auths = [e for e in tail.events if e["event"] == "auth"]
    assert len(auths) == IDLE_CONNECTIONS
    assert {(a["accepted"], a["reason_code"], a["missing"]) for a in auths} == {(False, "key_id_timeout", "key_id")}
    assert {c["cause"] for c in tail.events if c["event"] == "close"} == {"timeout"}
    print(f"\n[timeout] {IDLE_CONNECTIONS} idle connections opened in {opened:.3f} s, all timed out "
          f"(key_id_timeout, handshake timeout {timeout} s) {all_closed:.3f} s after the first connect; "
          f"stub RSS then {rss / 1024:.1f} MB")
    assert all_closed < timeout + opened + 10


# --- 2. a million rows from 100 concurrent clients ------------------------------------------------


def client_name(k: int) -> str:
    return f"c{k:03d}"


def rows_payload(name: str, start: int, stop: int) -> bytes:
    return "".join(f"t,c={name} n={i}i\n" for i in range(start, stop)).encode()


@pytest.mark.timeout(300)
def test_million_rows_from_hundred_clients_none_lost(serve, two_keys):
    stub = serve("--handshake-timeout", "60")
    jwks = two_keys[1]
    kids = sorted(jwks)
    barrier = threading.Barrier(CLIENTS + 1, timeout=60)
    peers: dict[str, str] = {}
    errors: list[BaseException] = []

    def client(k: int) -> None:
        name = client_name(k)
        kid = kids[k % len(kids)]
        sock = None
        try:
            sock, _ = authenticate(stub, kid, jwks[kid])
            sock.settimeout(120)
            peers[peer_of(sock)] = name
            payload = rows_payload(name, 0, ROWS_PER_CLIENT)
            rng = random.Random(k)
            barrier.wait()
            pos = 0
            while pos < len(payload):  # pieces of random size, cutting lines anywhere
                step = rng.randint(1, 32768)
                sock.sendall(payload[pos:pos + step])
                pos += step
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):  # the stub closes once it has read (and recorded) everything
                pass
        except BaseException as exc:  # noqa: BLE001 (reported by the main thread)
            errors.append(exc)
            barrier.abort()
        finally:
            if sock is not None:
                sock.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass  # a client failed before streaming: its error is reported below
    t_streaming = time.monotonic()
    for t in threads:
        t.join(timeout=240)
    t_done = time.monotonic()
    assert not any(t.is_alive() for t in threads), "a client did not finish within 240 s"
    assert not errors, errors[:3]
    assert stub.stop() == 0, stub.stderr()

    # Stream the events file: every (client, n) exactly once, in order per connection, unaltered.
    next_n = {client_name(k): 0 for k in range(CLIENTS)}
    client_of_conn: dict[int, str] = {}
    rows = accepted = 0
    closes: dict[int, dict] = {}
    last = None
    with open(stub.events_path, encoding="utf-8") as f:
        for line in f:
            last = event = json.loads(line)
            kind = event["event"]
            if kind == "row":
                rows += 1
                name = client_of_conn[event["conn"]]
                n = next_n[name]
                assert event == {"event": "row", "conn": event["conn"], "table": "t", "symbols": {"c": name},
                                 "columns": {"n": {"type": "integer", "value": n}}, "timestamp": None}, event
                next_n[name] = n + 1
            elif kind == "connect":
                client_of_conn[event["conn"]] = peers[event["peer"]]
            elif kind == "auth":
                assert event["accepted"], event
                accepted += 1
            elif kind == "close":
                closes[event["conn"]] = event
            else:
                assert kind in ("listening", "stopped"), event
    assert last == {"event": "stopped"}
    assert accepted == CLIENTS
    assert rows == CLIENTS * ROWS_PER_CLIENT
    assert set(next_n.values()) == {ROWS_PER_CLIENT}
    assert {(c["cause"], c["rows"]) for c in closes.values()} == {("peer_closed", ROWS_PER_CLIENT)}
    assert "unterminated_bytes" not in str(closes)

    wall = t_done - t_streaming
    print(f"\n[million] {CLIENTS} clients x {ROWS_PER_CLIENT} rows = {rows} row events, none lost, duplicated "
          f"or altered; streaming wall time {wall:.2f} s = {rows / wall:,.0f} rows/s "
          f"(with the {CLIENTS} handshakes: {t_done - t0:.2f} s); events file "
          f"{stub.events_path.stat().st_size / 1e6:.0f} MB")


# --- 3. SIGTERM in the middle of a stream ---------------------------------------------------------


def row_line(i: int) -> bytes:
    return b"t,c=s n=%di\n" % i


def test_sigterm_mid_stream_keeps_every_received_row(serve, two_keys):
    stub = serve()
    sock, handshake_bytes = authenticate(stub, "alice", two_keys[1]["alice"])
    sock.settimeout(10)
    peer = peer_of(sock)
    stop = threading.Event()
    state = {"sent": 0, "attempted": 0, "error": None}
    batch = 200

    def stream() -> None:
        i = 0
        try:
            while not stop.is_set():
                state["attempted"] = i + batch
                sock.sendall(b"".join(row_line(j) for j in range(i, i + batch)))
                i += batch
                state["sent"] = i
        except OSError as exc:  # the stub closed the connection under us: expected
            state["error"] = repr(exc)

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    time.sleep(0.5)
    sent_at_signal = state["sent"]
    code = stub.stop(timeout=30)
    stop.set()
    sender.join(timeout=15)
    sock.close()
    assert not sender.is_alive()
    assert code == 0, stub.stderr()
    assert sent_at_signal > 0

    text = stub.events_path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    events = [json.loads(line) for line in text[:-1].split("\n")]  # every line parses
    assert events[-1] == {"event": "stopped"}
    (conn,) = [e["conn"] for e in events if e["event"] == "connect" and e["peer"] == peer]
    (auth,) = [e for e in events if e["event"] == "auth"]
    assert auth["accepted"] and auth["conn"] == conn
    ns = [e["columns"]["n"]["value"] for e in events if e["event"] == "row"]
    k = len(ns)
    assert ns == list(range(k)), "the row events are not the gapless prefix 0..k-1"
    assert 0 < k <= state["attempted"]
    (close,) = [e for e in events if e["event"] == "close"]
    assert close["conn"] == conn and close["cause"] == "server_stop"
    assert close["rows"] == k
    # Every byte the stub read became a row, except a last unterminated line.
    stream_bytes = close["bytes"] - handshake_bytes
    complete = sum(len(row_line(i)) for i in range(k))
    assert complete <= stream_bytes < complete + len(row_line(k))
    assert close.get("unterminated_bytes", 0) == stream_bytes - complete
    print(f"\n[sigterm] SIGTERM after 0.5 s: client had sent {sent_at_signal} rows at the signal, "
          f"{state['sent']} before its send failed ({state['error']}); stub recorded {k} rows "
          f"(n=0..{k - 1}, gapless), close rows={close['rows']}, bytes={close['bytes']}, "
          f"unterminated_bytes={close.get('unterminated_bytes', 0)}; exit code {code}; {len(events)} events")


# --- 4. fuzzing the ILP stream and the machine without sockets ------------------------------------

NAMES = ["t", "cpu", "a", "b", "x y", "a\\ b", "a\\,b", "a\\=b", "é", "名前", "", "\\", "=", ",", " ", '"',
         "\n", "\r", "\x00", "-", ".", "..", "a.b", "\ufeff", "?", "a\\\\"]
VALUES = ["1i", "-1i", "0i", "9223372036854775807i", "-9223372036854775808i", "9223372036854775808i", "1.5",
          "-0", "1e999", "-1e-400", ".5", "5.", "NaN", "Infinity", "-Infinity", "nan", "t", "true", "F",
          "FALSE", "1t", "2n", "3m", "-4t", '"s"', '"a\\"b"', '"line\\\nend"', '"cr\\\rx"', '"unterminated',
          '""', "", "i", "1.2.3", "0x10", "+1", "٣i", "1_000i", '"uni é"', '"a,b c=d"', '"x\\\\"', "1e5", "e5"]
GOOD_NAMES = ["t", "cpu", "a", "b", "a\\ b", "a\\=b", "é", "名前", "host_1", "Ω"]
GOOD_VALUES = ["1i", "-1i", "9223372036854775807i", "-9223372036854775808i", "1.5", "-0", "1e999", "NaN",
               "-Infinity", "t", "FALSE", "1t", "2n", "3m", '"s"', '"a\\"b"', '"line\\\nend"', '"cr\\\rx"', '""',
               '"uni é"', '"a,b c=d"', '"x\\\\"', ".5", "5.", "1e5"]
STAMPS = ["1700000000000000000", "1700000000000000t", "1700000000000m", "-1", "0n", "x", "1.5",
          "99999999999999999999", ""]
LINE_ENDS = [b"\n", b"\n", b"\r\n", b"\r", b"\n\n"]
SPECIAL = b' ,=\\"\n\r'


def ilp_like(rng: random.Random) -> bytes:
    """A few ILP lines: clean ones (rows), or with hostile names, values and bytes mixed in."""
    bad = rng.choice((0.0, 0.0, 0.05, 0.3))  # how often a part comes from the hostile lists

    def pick(good, hostile):
        return rng.choice(hostile if rng.random() < bad else good)

    lines = []
    for _ in range(rng.randint(0, 6)):
        parts = [pick(GOOD_NAMES, NAMES)]
        parts += [f",{pick(GOOD_NAMES, NAMES)}={pick(GOOD_NAMES, NAMES)}" for _ in range(rng.choice((0, 0, 1, 2)))]
        fields = [f"{pick(GOOD_NAMES, NAMES)}={pick(GOOD_VALUES, VALUES)}" for _ in range(rng.choice((1, 1, 2, 3)))]
        if fields:
            parts.append(" " + ",".join(fields))
            if rng.random() < 0.3:
                parts.append(" " + pick(STAMPS[:3], STAMPS))
        if rng.random() < 0.1:
            parts.append(" " * rng.randint(1, 3))
        if rng.random() < 0.05:
            parts.append("x" * rng.randint(50, 600))  # past the smaller line limits
        lines.append("".join(parts).encode() + rng.choice(LINE_ENDS))
    data = bytearray(b"".join(lines))
    for _ in range(rng.choice((0, 0, 0, 1, 2, 5)) if bad else 0):  # byte-level mutations
        pos = rng.randint(0, len(data))
        op = rng.random()
        byte = rng.choice(SPECIAL) if rng.random() < 0.5 else rng.randrange(256)
        if op < 0.4 or not data:
            data.insert(pos, byte)
        elif op < 0.7:
            data[min(pos, len(data) - 1)] = byte
        else:
            del data[min(pos, len(data) - 1)]
    if data and rng.random() < 0.2:
        del data[rng.randint(0, len(data)):]  # truncated: a last line without its line end
    return bytes(data)


def random_bytes(rng: random.Random, max_size: int = 600) -> bytes:
    n = rng.randint(0, max_size)
    if rng.random() < 0.5:
        return rng.randbytes(n)
    alphabet = SPECIAL + b"abcxyz019.-i\xc3\xa9\xff"
    return bytes(rng.choice(alphabet) for _ in range(n))


def chunked(rng: random.Random, data: bytes) -> list[bytes]:
    """data cut at random places (sometimes byte by byte); every cut, including empty pieces, is fine."""
    if 0 < len(data) <= 40 and rng.random() < 0.3:
        return [data[i:i + 1] for i in range(len(data))]
    cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 8)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def stream_verdict(data_chunks: list[bytes], max_line_bytes: int, check_row) -> tuple:
    """(rows, error, pending, dead) from feeding the chunks; checks the stream's invariants on the way."""
    stream = IlpStream(max_line_bytes, check_row=check_row)
    rows: list[dict] = []
    error = None
    for chunk in data_chunks:
        got, err = stream.feed(chunk)
        assert stream.pending <= max_line_bytes
        if error is not None:
            assert (got, err) == ([], None), "the stream went on after its error"
        rows += got
        if err is not None:
            error = err
            assert stream.dead and stream.pending == 0
    if error is not None and error["error"].startswith("line too long"):
        # What a too-long line's `text` shows depends on how much had arrived when the limit was
        # crossed: the same when max_line_bytes >= 800 (the text is cut from the first 800 bytes).
        error = {**error, "text": None}
    return rows, error, stream.pending, stream.dead


def test_fuzz_ilp_stream_any_chunking_same_verdict():
    rng = random.Random(20240611)
    limits = [48, 256, 4096]
    kinds = {"ilp_like": 0, "random": 0}
    verdicts = {"rows": 0, "errors": 0, "too_long": 0}
    started = time.monotonic()
    for i in range(PARSER_INPUTS):
        kind = "ilp_like" if rng.random() < 0.75 else "random"
        kinds[kind] += 1
        data = ilp_like(rng) if kind == "ilp_like" else random_bytes(rng)
        limit = limits[i % len(limits)]
        check_row = names.check_row if i % 2 else None
        try:
            whole = stream_verdict([data], limit, check_row)
            pieces = stream_verdict(chunked(rng, data), limit, check_row)
            assert pieces == whole, "a different verdict for the same bytes cut differently"
            for row in whole[0]:  # every parsed row can be written back and reads the same
                assert parse_line(format_row(row).encode()) == row
        except Exception as exc:
            raise AssertionError(f"input #{i} (max_line_bytes={limit}, check_row={bool(check_row)}): {data!r}") \
                from exc
        verdicts["rows"] += len(whole[0])
        if whole[1] is not None:
            verdicts["errors"] += 1
            verdicts["too_long"] += whole[1]["text"] is None
    elapsed = time.monotonic() - started
    print(f"\n[fuzz ilp] {PARSER_INPUTS} inputs ({kinds}), each fed whole and cut at random: {verdicts}; "
          f"{elapsed:.1f} s = {PARSER_INPUTS / elapsed:,.0f} inputs/s")
    assert verdicts["rows"] > PARSER_INPUTS // 2 and verdicts["errors"] > PARSER_INPUTS // 10  # both sides exercised
    assert verdicts["too_long"] > 100


def signature_line(rng: random.Random) -> bytes:
    """Something shaped like a signature line (without its newline) that does not verify."""
    pick = rng.random()
    if pick < 0.5:
        text = base64.b64encode(rng.randbytes(rng.choice((0, 1, 2, 8, 32, 56, 62, 63, 64, 64, 65, 70, 71, 72))))
    elif pick < 0.6:
        text = base64.b64encode(bytes(rng.choice((64, 8))))  # all zero
    elif pick < 0.7:  # DER of random scalars
        r, s = (rng.getrandbits(256) for _ in range(2))
        der = b"\x30\x44\x02\x20" + r.to_bytes(32, "big") + b"\x02\x20" + s.to_bytes(32, "big")
        text = base64.b64encode(der)
    else:
        text = bytes(rng.choice(b"ABCxyz09+/-_=\r ") for _ in range(rng.randint(0, 120)))
    if rng.random() < 0.3:
        text = text.rstrip(b"=")
    if rng.random() < 0.1:
        text = text.replace(b"+", b"-").replace(b"/", b"_")
    if rng.random() < 0.05:
        text += b"\r"
    return text


class FuzzedConnection:
    """One connection's machine (driving.Driven), fed chunk by chunk as a transport would deliver them."""

    def __init__(self, keys, config, conn_id: int, timeout_step: int | None):
        self.driven = Driven(Machine(conn_id, keys, config))
        self.timeout_step = timeout_step  # the handshake's Wake comes before this read
        self.steps = 0
        self.timed_out = False

    def feed(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            if not self.driven.open:
                return  # a transport delivers nothing after its close
            if self.steps == self.timeout_step and self.driven.wake is not None:
                self.driven.tick(self.driven.wake)  # what the adapter's timer does when it fires here
                self.timed_out = True
                return
            self.steps += 1
            self.driven.receive(chunk)


class Signer:
    """Good answers and typical mistakes, signed with the reference client's keys."""

    def __init__(self, jwks: dict):
        self.keys = {kid: Key.from_jwk(jwk) for kid, jwk in jwks.items()}

    def sign(self, kid: str, message: bytes, form: str) -> bytes:
        """`form`: a form of the reference client ("p1363", "der"), or "swapped" (s || r)."""
        if form == "swapped":
            raw = self.keys[kid].p1363(message)
            return raw[32:] + raw[:32]
        return self.keys[kid].sign(message, form)

    def answer(self, rng: random.Random, kind: str, kid: str, challenge: bytes) -> tuple[bytes, tuple]:
        """(signature bytes, expected (accepted, reason_code)) for a good answer or a typical mistake."""
        if kind == "valid":
            return self.sign(kid, challenge, rng.choice(("p1363", "der"))), (True, None)
        mistake = rng.choice(("wrong_key", "signed_with_newline", "double_hashed", "swapped_r_s"))
        signer = ("bob" if kid == "alice" else "alice") if mistake == "wrong_key" else kid
        message = {"signed_with_newline": challenge + b"\n",
                   "double_hashed": hashlib.sha256(challenge).digest()}.get(mistake, challenge)
        return self.sign(signer, message, "swapped" if mistake == "swapped_r_s" else "p1363"), (False, mistake)


def test_fuzz_handshake_one_auth_per_connection_no_row_without_it(two_keys):
    """Random bytes and ticks through the connection's machine: exactly one auth event, a row only
    after an accepted one, the right verdict for the inputs built to have one, no exception."""
    auth_db, jwks = two_keys
    keys = load_auth_db(auth_db)
    known_codes = set(catalogue())
    config = Limits(handshake_timeout=3600, max_key_id_bytes=512, max_line_bytes=512)
    signer = Signer(jwks)
    rng = random.Random(20240612)
    tally: dict[str, int] = {}
    codes: dict[str, int] = {}

    started = time.monotonic()
    for i in range(1, HANDSHAKE_INPUTS + 1):
        pick = rng.random()
        kind = ("random" if pick < 0.35 else "kid_random" if pick < 0.55 else "bad_signature" if pick < 0.75
                else "valid" if pick < 0.93 else "mistake")
        tally[kind] = tally.get(kind, 0) + 1
        kid = rng.choice(["alice", "bob"]) if kind in ("valid", "mistake") else \
            rng.choice(["alice", "bob", "nobody", "alice\r", "", "ALICE", "b\xf8b"])
        fc = FuzzedConnection(keys, config, i, rng.randint(0, 6) if rng.random() < 0.1 else None)
        d = fc.driven
        pipelined = b""
        expected = None  # (accepted, reason_code, discarded_bytes) for inputs built to have one verdict

        if kind == "random":
            fc.feed(chunked(rng, random_bytes(rng)))
        else:
            # bytes after the key id in the same read are discarded: junk rides with the newline
            junk = random_bytes(rng, 40) if rng.random() < 0.2 else b""
            *head, last = chunked(rng, kid.encode())
            fc.feed([*head, last + b"\n" + junk])
            if kind == "kid_random":
                fc.feed(chunked(rng, random_bytes(rng)))
            elif kind == "bad_signature":
                tail = b"\n" + random_bytes(rng, 100) if rng.random() < 0.9 else b""
                fc.feed(chunked(rng, signature_line(rng) + tail))
            elif d.machine.state is State.SIGNATURE:
                sig, verdict = signer.answer(rng, kind, kid, d.challenge)
                expected = (*verdict, len(junk) if verdict[0] else None)
                if kind == "valid":
                    pipelined = ilp_like(rng) if rng.random() < 0.7 else random_bytes(rng, 200)
                text = base64.b64encode(sig)
                fc.feed(chunked(rng, (text.rstrip(b"=") if rng.random() < 0.3 else text) + b"\n" + pipelined))
                if fc.timed_out:
                    expected = None  # the simulated timer fired before the signature was complete
        if d.wake is not None and rng.random() < 0.05:
            d.tick(d.wake)
        d.peer_closed()

        evs = d.events
        where = f"input #{i} ({kind}): {evs[:3]}"
        try:
            d.check()  # connect first, one auth, rows only after an accepted one, one close last
        except AssertionError as error:
            raise AssertionError(where) from error
        auth = d.auth
        row_at = [at for at, e in enumerate(evs) if e["event"] == "row"]
        if not auth["accepted"]:
            assert auth["reason_code"] in known_codes, where
            codes[auth["reason_code"]] = codes.get(auth["reason_code"], 0) + 1
        else:
            codes["accepted"] = codes.get("accepted", 0) + 1
        if expected is not None:
            assert (auth["accepted"], auth.get("reason_code"), auth.get("discarded_bytes")) == expected, where
            if expected[0]:  # the pipelined bytes are parsed exactly as a lone IlpStream parses them
                assert 0 <= auth["pipelined_bytes"] <= len(pipelined), where  # those in the signature's read
                ref_rows, _ = IlpStream(config.max_line_bytes, check_row=Tables().admit).feed(pipelined)
                got_rows = [{key: v for key, v in evs[at].items() if key not in ("event", "conn")} for at in row_at]
                assert got_rows == ref_rows, where
        assert d.machine.state is State.CLOSED, where
        assert len(d.sent) in (0, CHALLENGE_BYTES + 1) and len(d.sends) <= 1, where
        assert d.sent.find(b"\n") in (-1, CHALLENGE_BYTES), where
        # JSON lines end at \n only: with ensure_ascii=False a value may hold a raw U+2028 or U+0085,
        # which str.splitlines() would also split on
        written = b"".join(encode(e) for e in evs)
        assert [json.loads(line) for line in written.split(b"\n")[:-1]] == evs, where
    elapsed = time.monotonic() - started
    print(f"\n[fuzz handshake] {HANDSHAKE_INPUTS} connections ({tally}) in {elapsed:.1f} s = "
          f"{HANDSHAKE_INPUTS / elapsed:,.0f} inputs/s; verdicts {dict(sorted(codes.items()))}")
    assert codes.get("accepted", 0) > HANDSHAKE_INPUTS // 10


# --- the adapter: one busy stream must not hold the event loop ----------------------------------------


class FakeTransport:
    def __init__(self):
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def pause_reading(self):
        self.reading = False

    def resume_reading(self):
        self.reading = True

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data):
        assert not self.closed, "write after close"
        self.written += data

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed


def test_a_large_read_ends_the_connections_turn_and_a_stop_keeps_it_paused(two_keys):
    """server.Connection on a fake transport: a read of YIELD_AFTER_BYTES or more pauses reading
    until the next turn of the loop, so that no stream holds the loop for several reads in a row
    (an event loop may hand one readable stream many large reads before it serves anything else);
    once a stop has begun (reading_stopped) the connection is not resumed; nothing read is lost."""
    server = types.SimpleNamespace(config=StubConfig(), keys=load_auth_db(two_keys[0]), tls_context=None,
                                   events=EventLog(keep_in_memory=True), forget=lambda conn: None,
                                   reading_stopped=False, tables=Tables())
    signer = Signer(two_keys[1])
    large = b"t n=1i\n" * 20_000
    assert len(large) >= YIELD_AFTER_BYTES
    paused = []

    async def run() -> None:
        transport = FakeTransport()
        conn = Connection(server, 1)
        conn.connection_made(transport)
        conn.data_received(b"alice\n")
        challenge = bytes(transport.written[:-1])
        conn.data_received(base64.b64encode(signer.sign("alice", challenge, "p1363")) + b"\nt n=1i\n")
        paused.append(not transport.reading)  # a small read: no pause
        conn.data_received(large)
        paused.append(not transport.reading)
        await asyncio.sleep(0)  # the next turn of the loop
        paused.append(not transport.reading)
        conn.data_received(large)
        server.reading_stopped = True  # what StubServer.stop_reading() sets
        await asyncio.sleep(0)
        paused.append(not transport.reading)
        conn.connection_lost(None)

    asyncio.run(run())
    assert paused == [False, True, False, True]
    rows = [e for e in server.events.snapshot() if e["event"] == "row"]
    assert len(rows) == 1 + 2 * 20_000  # nothing read was lost to the pauses
