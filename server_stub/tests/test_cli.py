"""`python -m server_stub serve` as other tools script it: one JSON line, events, signals, exit codes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from wire import b64, closed_by_peer, handshake, raw_signature

from server_stub.loops import LOOPS


class Serve:
    """A `serve` subprocess; .host/.port from its listening line."""

    def __init__(self, auth_db, events, *extra):
        self.cmd = [sys.executable, "-m", "server_stub", "serve", "--auth-db", str(auth_db),
                    "--port", "0", "--events", str(events), *extra]
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.listening = json.loads(self.proc.stdout.readline())
        self.host, self.port = self.listening["host"], self.listening["port"]

    def stop(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err


@pytest.fixture
def serve(two_keys, tmp_path):
    started = []

    def start(*extra):
        started.append(Serve(two_keys[0], tmp_path / "events.jsonl", *extra))
        return started[-1]

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.communicate(timeout=10)


def read_events(path):
    return [json.loads(line) for line in path.read_text().split("\n") if line]


@pytest.mark.parametrize("loop", LOOPS)
def test_listening_line_then_events_flushed_on_sigterm(serve, two_keys, tmp_path, loop):
    server = serve("--loop", loop)
    assert server.listening == {"event": "listening", "host": "127.0.0.1", "port": server.port}
    alice = two_keys[1]["alice"]
    sock = handshake(server, "alice", lambda c: b64(raw_signature(alice, c)), after_signature=b"t a=1i\nt a=2i\n")
    sock.sendall(b"t a=3i\n")
    sock.close()
    bad = handshake(server, "alice", lambda c: b"AAAA")
    assert closed_by_peer(bad)
    code, out, err = server.stop()
    assert (code, out) == (0, ""), err
    events = read_events(tmp_path / "events.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "listening" and kinds[-1] == "stopped"
    assert [e["columns"]["a"]["value"] for e in events if e["event"] == "row"] == [1, 2, 3]
    assert [e["accepted"] for e in events if e["event"] == "auth"] == [True, False]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_mid_handshake_records_the_open_connection(serve, tmp_path, signum):
    server = serve()
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(b"ali")
    code, _, err = server.stop(signum)
    assert code == 0, err
    events = read_events(tmp_path / "events.jsonl")
    (auth,) = [e for e in events if e["event"] == "auth"]
    (close,) = [e for e in events if e["event"] == "close"]
    assert (auth["reason_code"], close["cause"]) == ("server_stop", "server_stop")


def test_bad_auth_file_exits_2_with_file_and_line(tmp_path):
    auth = tmp_path / "auth.txt"
    auth.write_text("# comment\nalice ec-p-256-sha256 onlythree\n")
    proc = subprocess.run([sys.executable, "-m", "server_stub", "serve", "--auth-db", str(auth)],
                          check=False, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == f"{auth}:2: Was expecting 4 tokens"


def test_bad_schema_file_exits_2_with_one_line_naming_it(tmp_path, two_keys):
    schema = tmp_path / "schema.toml"
    schema.write_text('[table.p]\ncolumns = { price = "DECIMAL(99,2)" }\n')
    proc = subprocess.run([sys.executable, "-m", "server_stub", "serve", "--auth-db", str(two_keys[0]),
                           "--schema", str(schema)], check=False, capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"{schema}: [table.p]: column 'price'")


def test_binds_loopback_by_default(serve):
    assert serve().host == "127.0.0.1"


def test_keys_gen_then_serve_accepts_that_key(tmp_path):
    out = tmp_path / "keys"
    gen = subprocess.run([sys.executable, "-m", "server_stub", "keys", "gen", "--kid", "k1", "--out", str(out)],
                         check=False, capture_output=True, text=True, timeout=30)
    assert gen.returncode == 0, gen.stderr
    jwk_path = out / "k1.jwk.json"
    assert os.stat(jwk_path).st_mode & 0o777 == 0o600
    auth = tmp_path / "auth.txt"
    auth.write_text(gen.stdout)
    server = Serve(auth, tmp_path / "ev.jsonl")
    try:
        jwk = json.loads(jwk_path.read_text())
        handshake(server, "k1", lambda c: b64(raw_signature(jwk, c))).close()
    finally:
        server.stop()
    assert [e["accepted"] for e in read_events(tmp_path / "ev.jsonl") if e["event"] == "auth"] == [True]


def test_also_host_listens_on_the_same_port_on_ipv6(serve, two_keys, tmp_path):
    server = serve("--also-host", "::1")
    assert server.listening["also_hosts"] == ["::1"]
    alice = two_keys[1]["alice"]
    sock = socket.create_connection(("::1", server.port), timeout=5)
    sock.sendall(b"alice\n")
    challenge = b""
    while not challenge.endswith(b"\n"):
        challenge += sock.recv(1024)
    sock.sendall(b64(raw_signature(alice, challenge[:-1])) + b"\n")
    sock.close()
    code, _, err = server.stop()
    assert code == 0, err
    (connect,) = [e for e in read_events(tmp_path / "events.jsonl") if e["event"] == "connect"]
    (auth,) = [e for e in read_events(tmp_path / "events.jsonl") if e["event"] == "auth"]
    assert connect["peer"].startswith("::1:") and auth["accepted"]


def test_unicode_line_breaks_in_a_key_id_keep_every_event_on_one_line(serve, tmp_path):
    server = serve()
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall("nobody\u2028x\n".encode())
    sock.recv(1024)
    sock.close()
    server.stop()
    text = (tmp_path / "events.jsonl").read_text()
    assert "\u2028" not in text
    for line in text.splitlines():  # even a reader that splits on Unicode line breaks
        json.loads(line)
    (auth,) = [e for e in read_events(tmp_path / "events.jsonl") if e["event"] == "auth"]
    assert auth["kid"] == "nobody\u2028x"
