"""Faults the stub injects on purpose (serve --fault NAME), seen from a real client socket."""

from __future__ import annotations

import time

import pytest
from wire import b64, closed_by_peer, connect, raw_signature, read_line

from server_stub import run_stub


def started(two_keys, **config):
    return run_stub(two_keys[0], **config)


def challenge_and_extra(sock) -> tuple[bytes, bytes]:
    """Read the challenge line and the extra line the fault sends after it."""
    data = b""
    while data.count(b"\n") < 2:
        data += sock.recv(4096)
    return data.split(b"\n", 1)


def test_challenge_in_pieces(two_keys):
    alice = two_keys[1]["alice"]
    with started(two_keys, fault="challenge-in-pieces") as stub:
        sock = connect(stub)
        sock.sendall(b"alice\n")
        pieces, data = 0, b""
        while not data.endswith(b"\n"):
            data += sock.recv(1024)
            pieces += 1
        assert len(data) == 513 and pieces > 10
        sock.sendall(b64(raw_signature(alice, data[:-1])) + b"\n")
        assert stub.wait_for_auth(1)[0]["accepted"]


def test_challenge_delayed(two_keys):
    with started(two_keys, fault="challenge-delayed", fault_delay=0.5) as stub:
        sock = connect(stub)
        began = time.monotonic()
        sock.sendall(b"alice\n")
        assert len(read_line(sock)) == 512
        assert time.monotonic() - began >= 0.45


def test_client_that_does_not_wait_for_the_challenge_is_recorded(two_keys):
    alice = two_keys[1]["alice"]
    with started(two_keys, fault="challenge-delayed", fault_delay=0.5) as stub:
        sock = connect(stub)
        sock.sendall(b"alice\n")
        time.sleep(0.1)
        sock.sendall(b64(raw_signature(alice, b"guess")) + b"\n")  # before the challenge: misbehaves
        auth = stub.wait_for_auth(1)[0]
        assert auth["bytes_before_challenge"] > 0 and not auth["accepted"]


def test_no_challenge_ends_in_the_stubs_timeout(two_keys):
    with started(two_keys, fault="no-challenge", handshake_timeout=0.5) as stub:
        sock = connect(stub)
        sock.sendall(b"alice\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)
        assert stub.wait_for_auth(1)[0]["reason_code"] == "signature_timeout"


def test_extra_bytes_after_the_challenge(two_keys):
    alice = two_keys[1]["alice"]
    with started(two_keys, fault="extra-after-challenge") as stub:
        sock = connect(stub)
        sock.sendall(b"alice\n")
        challenge, extra = challenge_and_extra(sock)
        assert len(challenge) == 512 and extra
        sock.sendall(b64(raw_signature(alice, challenge)) + b"\n")
        assert stub.wait_for_auth(1)[0]["accepted"]


def test_close_after_challenge(two_keys):
    with started(two_keys, fault="close-after-challenge") as stub:
        sock = connect(stub)
        sock.sendall(b"alice\n")
        assert len(read_line(sock)) == 512
        assert closed_by_peer(sock)
        (close,) = stub.wait_for_closed(1)
        assert stub.events("auth")[0]["reason_code"] == "fault_closed" and close["cause"] == "fault"


def test_close_after_rows(two_keys):
    alice = two_keys[1]["alice"]
    with started(two_keys, fault="close-after-rows", fault_rows=2) as stub:
        sock = connect(stub)
        sock.sendall(b"alice\n")
        challenge = read_line(sock)
        sock.sendall(b64(raw_signature(alice, challenge)) + b"\n" + b"".join(b"t n=%di\n" % i for i in range(5)))
        assert closed_by_peer(sock)
        (close,) = stub.wait_for_closed(1)
        assert [r["columns"]["n"]["value"] for r in stub.events("row")] == [0, 1]
        assert (close["cause"], close["rows"]) == ("fault", 2)


def test_unknown_fault_is_refused(two_keys):
    with pytest.raises(ValueError, match="unknown fault"):
        started(two_keys, fault="gremlins").__enter__()


def test_a_client_that_signs_the_extra_bytes_too_is_told_so(two_keys):
    alice = two_keys[1]["alice"]
    with started(two_keys, fault="extra-after-challenge") as stub:
        sock = connect(stub)
        sock.sendall(b"alice\n")
        challenge, extra = challenge_and_extra(sock)
        signed = challenge + b"\n" + extra[:-1]  # everything received but the last byte
        sock.sendall(b64(raw_signature(alice, signed)) + b"\n")
        auth = stub.wait_for_auth(1)[0]
        assert auth["reason_code"] == "signed_bytes_after_challenge"
