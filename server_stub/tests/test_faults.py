"""Faults the stub injects on purpose (serve --fault NAME): seen from a real client socket, then the
fault layer over the machine by bytes and ticks alone, then the one registry against the command line
and the README."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from driving import driven
from wire import b64, closed_by_peer, connect, raw_signature, read_line

from server_stub import cli, faults, run_stub
from server_stub.authdb import load_auth_db
from server_stub.machine import CHALLENGE_BYTES
from server_stub.server import StubConfig


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


# --- the fault layer over the machine, by bytes and ticks alone (no socket) -----------------------


@pytest.fixture(scope="module")
def keys(two_keys):
    return load_auth_db(two_keys[0])


def signature_line(jwk: dict, message: bytes) -> bytes:
    return b64(raw_signature(jwk, message)) + b"\n"


def test_layer_challenge_in_pieces_one_byte_per_tick(keys, two_keys):
    d = driven(keys, "challenge-in-pieces", now=0.0)
    d.receive(b"alice\n")
    assert d.sends == [d.machine.challenge[:1]] and d.wake == pytest.approx(faults.PIECE_GAP)
    d.receive(b"early")  # the client does not wait for the whole challenge
    d.run_until(1.0)
    assert len(d.sends) == CHALLENGE_BYTES + 1 and set(map(len, d.sends)) == {1}
    assert bytes(d.sent) == d.machine.challenge + b"\n"
    assert d.wake == pytest.approx(15.0)  # the machine's deadline again, once the pieces are out
    d.receive(signature_line(two_keys[1]["alice"], d.challenge))
    assert d.auth["accepted"] is False  # "early" + the signature line is one bad line
    assert d.auth["bytes_before_challenge"] == len(b"early")
    d.peer_closed()
    d.check()


def test_layer_challenge_delayed_counts_what_came_before_it(keys, two_keys):
    d = driven(keys, "challenge-delayed", fault_delay=0.5, now=10.0)
    d.receive(b"alice\n")
    assert d.sent == b"" and d.wake == 10.5
    d.run_until(10.4)
    assert d.sent == b""
    d.run_until(10.5)
    assert len(d.sent) == CHALLENGE_BYTES + 1 and d.wake == 25.0
    d.receive(signature_line(two_keys[1]["alice"], d.challenge))
    assert d.auth["accepted"] and "bytes_before_challenge" not in d.auth
    d.peer_closed()
    d.check()


def test_layer_challenge_delayed_past_the_timeout_is_never_sent(keys):
    d = driven(keys, "challenge-delayed", fault_delay=30.0, handshake_timeout=2.0)
    d.receive(b"alice\n")
    d.receive(b"guess")
    d.run_until(60.0)
    assert d.sent == b"" and d.auth["reason_code"] == "signature_timeout"
    assert "bytes_before_challenge" not in d.auth  # no signature line was judged
    d.check()


def test_layer_no_challenge_ends_in_the_timeout(keys, two_keys):
    d = driven(keys, "no-challenge", handshake_timeout=2.0)
    d.receive(b"alice\n")
    d.receive(signature_line(two_keys[1]["alice"], b"guess"))
    assert d.sent == b"" and d.auth["bytes_before_challenge"] > 0 and not d.auth["accepted"]
    d2 = driven(keys, "no-challenge", handshake_timeout=2.0)
    d2.receive(b"alice\n")
    d2.run_until(2.0)
    assert d2.sent == b"" and d2.auth["reason_code"] == "signature_timeout"
    d2.check()


def test_layer_extra_after_challenge_names_a_signature_over_them(keys, two_keys):
    alice = two_keys[1]["alice"]
    d = driven(keys, "extra-after-challenge")
    d.receive(b"alice\n")
    assert bytes(d.sent) == d.machine.challenge + b"\n" + faults.EXTRA_AFTER_CHALLENGE
    signed = bytes(d.sent[:-1])  # everything received but the last byte
    d.receive(signature_line(alice, signed))
    assert (d.auth["reason_code"], d.auth["mistakes"]) == ("signed_bytes_after_challenge",
                                                           ["signed_bytes_after_challenge"])
    assert "after its newline" in d.auth["reason"]
    d.check()
    d = driven(keys, "extra-after-challenge")
    d.receive(b"alice\n")
    d.receive(signature_line(two_keys[1]["bob"], bytes(d.sent[:-1])))
    assert d.auth["mistakes"] == ["wrong_key", "signed_bytes_after_challenge"]
    d = driven(keys, "extra-after-challenge")
    d.receive(b"alice\n")
    d.receive(signature_line(alice, d.challenge))
    assert d.auth["accepted"]


def test_layer_close_after_challenge(keys):
    d = driven(keys, "close-after-challenge")
    actions = d.receive(b"alice\n")
    assert [type(a).__name__ for a in actions] == ["Send", "Emit", "Emit", "Wake", "Close"]
    assert (d.auth["reason_code"], d.close["cause"], d.closed) == ("fault_closed", "fault", "fault")
    d.peer_closed()
    d.check()


@pytest.mark.parametrize("reads", [1, 2])
def test_layer_close_after_rows_records_exactly_n_rows(keys, two_keys, reads):
    d = driven(keys, "close-after-rows", fault_rows=2)
    d.receive(b"alice\n")
    rows = b"".join(b"t n=%di\n" % i for i in range(5)) + b"t n=@\n"  # a malformed line after them too
    line = signature_line(two_keys[1]["alice"], d.challenge)
    if reads == 1:
        d.receive(line + rows)
    else:
        d.receive(line + rows[:8])
        d.receive(rows[8:])
    assert [r["columns"]["n"]["value"] for r in d.of("row")] == [0, 1]
    assert (d.close["cause"], d.close["rows"], d.closed) == ("fault", 2, "fault") and d.of("ilp_error") == []
    d.check()


# --- the registry is the command line, the README and the StubConfig -------------------------------


def test_the_registry_is_the_command_line(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps its help to the terminal's width
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    help_text = capsys.readouterr().out
    assert f"--fault {{{','.join(sorted(faults.FAULTS))}}}" in help_text
    for fault in faults.FAULTS.values():
        assert f"{fault.name}: {fault.description}" in help_text
        assert set(fault.parameters) <= set(faults.PARAMETERS)
    defaults = cli.parser().parse_args(["serve", "--auth-db", "x"])
    for parameter in faults.PARAMETERS.values():
        users = [f.name for f in faults.FAULTS.values() if parameter.name in f.parameters]
        assert users, f"{parameter.name}: no fault uses it"
        assert f"{parameter.option} {parameter.metavar}" in help_text and ", ".join(users) in help_text
        assert getattr(defaults, parameter.name) == parameter.default == getattr(StubConfig(), parameter.name)
        given = cli.parser().parse_args(["serve", "--auth-db", "x", parameter.option, "7"])
        assert getattr(given, parameter.name) == parameter.type(7)


def test_the_registry_is_the_readme_paragraph():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    paragraph = re.search(r"^- `--fault NAME`.*?(?=^\S|^- |\Z)", readme, re.DOTALL | re.MULTILINE).group()
    named = dict(re.findall(r"`([a-z]+(?:-[a-z]+)+)`(?: \(([^)]*)\))?", paragraph))
    assert set(named) == set(faults.FAULTS), "the README's fault paragraph lists other faults than the registry"
    for name, fault in faults.FAULTS.items():
        said = named[name]
        for parameter in map(faults.PARAMETERS.get, fault.parameters):
            assert f"`{parameter.option} {parameter.metavar}`, default {parameter.default:g}" in said, (name, said)
        assert said.count("`--") == len(fault.parameters), (name, said)
