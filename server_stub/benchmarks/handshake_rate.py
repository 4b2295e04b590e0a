"""Handshakes per second through `python -m server_stub serve` on loopback.

    python server_stub/benchmarks/handshake_rate.py [--handshakes 3000] [--clients 1]

Starts the stub as a subprocess with a fresh key, runs `--clients` client processes that each make
their share of complete handshakes one after another (connect, key id, challenge, raw r||s
signature, close), then stops the stub and counts the accepted `auth` events in its events file.
Prints one JSON line with the figures. The client shares the machine's cores with the stub.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from server_stub.keys import load_jwk, private_key_from_jwk, write_keypair


def client(host: str, port: int, jwk_path: str, count: int) -> None:
    jwk = load_jwk(jwk_path)
    key = private_key_from_jwk(jwk)
    kid_line = jwk["kid"].encode() + b"\n"
    for _ in range(count):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(kid_line)
            challenge = b""
            while not challenge.endswith(b"\n"):
                chunk = sock.recv(1024)
                if not chunk:
                    raise SystemExit("stub closed the connection during the challenge")
                challenge += chunk
            r, s = decode_dss_signature(key.sign(challenge[:-1], ec.ECDSA(hashes.SHA256())))
            sock.sendall(base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")) + b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--handshakes", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jwk_path, auth_path, _ = write_keypair("bench", Path(tmp))
        events = Path(tmp) / "events.jsonl"
        stub = subprocess.Popen([sys.executable, "-m", "server_stub", "serve", "--auth-db", str(auth_path),
                                 "--events", str(events)], stdout=subprocess.PIPE, text=True)
        try:
            listening = json.loads(stub.stdout.readline())
            share = args.handshakes // args.clients
            workers = [multiprocessing.Process(target=client, args=(listening["host"], listening["port"],
                                                                    str(jwk_path), share))
                       for _ in range(args.clients)]
            started = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join(timeout=600)
            elapsed = time.perf_counter() - started
        finally:
            stub.send_signal(signal.SIGTERM)
            stub.wait(timeout=30)
        auths = [e for e in map(json.loads, events.read_text().splitlines()) if e["event"] == "auth"]
    accepted = sum(a["accepted"] for a in auths)
    print(json.dumps({"handshakes": len(auths), "accepted": accepted, "clients": args.clients,
                      "seconds": round(elapsed, 3), "handshakes_per_second": round(len(auths) / elapsed, 1)}))
    return 0 if accepted == len(auths) == share * args.clients else 1


if __name__ == "__main__":
    sys.exit(main())
