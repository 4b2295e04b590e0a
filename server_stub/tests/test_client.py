"""The reference client (server_stub.client): every form and hook against the stub's verdicts, and every
way a server can fail to be QuestDB, played by small fake servers on 127.0.0.1, reported without a hang."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import struct
import threading
import time
from typing import Self

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from server_stub import client, run_stub
from server_stub.client import CHALLENGE_BYTES, Handshake, Key, authenticate, connect
from server_stub.records import by_connection, by_peer

CHALLENGE = bytes(range(0x20, 0x7F)) * 5 + b" " * (CHALLENGE_BYTES - 95 * 5)  # 512 printable bytes
FAST = 2.0  # seconds: the bound on every wait the fake servers make the client do


@pytest.fixture(scope="module")
def keys(two_keys):
    return {kid: Key.from_jwk(jwk) for kid, jwk in two_keys[1].items()}


@pytest.fixture(scope="module")
def stub(two_keys):
    with run_stub(two_keys[0]) as running:
        yield running


def verdict(stub, outcome) -> dict:
    """The stub's view of the client's connection, found by the client's local address."""
    stub.wait_for(lambda evs: any(e["event"] == "close" and e["conn"] == _conn(evs, outcome.local) for e in evs))
    return by_peer(by_connection(stub.events()))[outcome.local]


def _conn(events, local: str) -> int | None:
    return next((e["conn"] for e in events if e["event"] == "connect" and e["peer"] == local), None)


def verifies(key: Key, message: bytes, p1363: bytes) -> bool:
    r, s = int.from_bytes(p1363[:32], "big"), int.from_bytes(p1363[32:], "big")
    try:
        key.private.public_key().verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# --- against the stub ------------------------------------------------------------------------------------


def test_a_correct_handshake_is_accepted_and_the_client_sees_silence(stub, keys):
    outcome = authenticate(stub.host, stub.port, keys["alice"], Handshake(rows=b"t x=1i\n"))
    assert outcome.problem is None and outcome.closed is False and not outcome.reset
    assert len(outcome.challenge) == CHALLENGE_BYTES and all(0x20 <= b <= 0x7E for b in outcome.challenge)
    assert outcome.extra == b"" and outcome.received == CHALLENGE_BYTES + 1 and outcome.reads >= 1
    assert len(outcome.signature_line) == 89 and outcome.signature_line.endswith(b"\n")
    seen = verdict(stub, outcome)
    assert seen.accepted and seen.auth["encoding"] == "p1363" and seen.auth["kid"] == "alice"
    assert [r["table"] for r in seen.rows] == ["t"]


@pytest.mark.parametrize("how, accepted, code, encoding", [
    pytest.param(Handshake(form="der"), True, None, "der", id="der"),
    pytest.param(Handshake(base64="unpadded"), True, None, "p1363", id="unpadded"),
    pytest.param(Handshake(pad_to=96), True, None, "p1363", id="pad-to-96"),
    pytest.param(Handshake(pad_to=97), False, "signature_too_long", "invalid", id="pad-to-97"),
    pytest.param(Handshake(form="p1363-unpadded"), False, "short_raw_signature", "der", id="p1363-unpadded"),
    # QuestDB's JDK accepts a DER INTEGER without its sign byte, and so does the stub, with a warning
    pytest.param(Handshake(form="der-unsigned"), True, None, "der", id="der-unsigned"),
    pytest.param(Handshake(form="zeros"), False, "all_zero_signature", "p1363", id="zeros"),
    pytest.param(Handshake(base64="urlsafe"), False, "base64_invalid_char", "invalid", id="urlsafe"),
    pytest.param(Handshake(message="challenge+newline"), False, "signed_with_newline", "p1363", id="newline"),
    pytest.param(Handshake(key_id_end=b"\r\n"), False, "unknown_key_id", "p1363", id="crlf-key-id"),
    pytest.param(Handshake(line_end=b"\r\n"), False, "base64_invalid_char", "invalid", id="crlf-signature"),
    pytest.param(Handshake(kid="bob"), False, "wrong_key", "p1363", id="other-key-id"),
])
def test_each_form_and_mistake_gets_the_stubs_verdict(stub, keys, how, accepted, code, encoding):
    outcome = authenticate(stub.host, stub.port, keys["alice"], how)
    assert outcome.challenge is not None and outcome.problem is None
    seen = verdict(stub, outcome)
    assert (seen.accepted, seen.auth.get("reason_code"), seen.auth["encoding"]) == (accepted, code, encoding)
    assert outcome.closed is (not accepted)  # silence on acceptance; the stub closes every rejection


def test_the_hooks_edit_the_signature_the_text_and_the_line(stub, keys):
    def swap(signature: bytes) -> bytes:
        return signature[32:] + signature[:32]

    cases = [
        (Handshake(edit_signature=swap), "swapped_r_s"),
        (Handshake(edit_text=lambda text: text[:10] + b"*" + text[11:]), "base64_invalid_char"),
        (Handshake(edit_line=lambda line: b" " + line), "base64_invalid_char"),
        (Handshake(form="der", message=lambda challenge: hashlib.sha256(challenge).digest()), "double_hashed"),
    ]
    for how, code in cases:
        outcome = authenticate(stub.host, stub.port, keys["alice"], how)
        assert verdict(stub, outcome).auth["reason_code"] == code, how
    line = authenticate(stub.host, stub.port, keys["alice"], Handshake(edit_line=lambda line: b" " + line))
    assert line.signature_line.startswith(b" ") and line.signature_line.endswith(b"\n")  # as sent


def test_rows_before_the_signature_are_discarded_rows_after_it_kept(stub, keys):
    before = authenticate(stub.host, stub.port, keys["alice"], Handshake(rows_before=b"lost x=1i\n"))
    after = authenticate(stub.host, stub.port, keys["alice"], Handshake(rows=b"kept x=1i\n"), drain=True)
    assert after.closed is True  # the stub closes after the end of stream, once every row is read
    lost, kept = verdict(stub, before), verdict(stub, after)
    assert lost.accepted and lost.auth["discarded_bytes"] == len(b"lost x=1i\n") and lost.rows == []
    assert kept.accepted and [r["table"] for r in kept.rows] == ["kept"]


def test_a_truncated_key_id_gets_no_challenge(stub, keys):
    outcome = authenticate(stub.host, stub.port, keys["alice"], Handshake(truncate_key_id=3))
    assert outcome.challenge is None and outcome.closed is True and outcome.signature_line is None
    assert outcome.problem == "the server closed the connection without sending a challenge"
    assert verdict(stub, outcome).auth["reason_code"] == "closed_before_key_id"


def test_the_connection_stays_usable_after_the_handshake(stub, keys):
    with connect(stub.host, stub.port) as conn:
        conn.handshake(keys["alice"])
        assert conn.server_closed(0.2) is False
        conn.sock.sendall(b"later x=1i\n")
        assert conn.half_close_and_drain() is True
    assert [r["table"] for r in verdict(stub, conn.outcome).rows] == ["later"]


def test_the_challenge_in_pieces_fault(two_keys, keys):
    with run_stub(two_keys[0], fault="challenge-in-pieces") as stub:
        outcome = authenticate(stub.host, stub.port, keys["alice"])
        assert outcome.reads > 10 and outcome.problem is None and outcome.closed is False
        assert verdict(stub, outcome).accepted


def test_the_key_is_parsed_once(keys, monkeypatch):
    """The bench signs thousands of challenges a second: no JWK parsing per handshake."""
    monkeypatch.setattr(client, "private_key_from_jwk", lambda jwk: pytest.fail("the JWK was parsed again"))
    assert len(Handshake().signature_text(keys["alice"], CHALLENGE)) == 88


# --- the forms, offline ------------------------------------------------------------------------------------


def test_each_form_has_its_property(keys):
    key = keys["alice"]
    raw = key.sign(CHALLENGE)
    assert len(raw) == 64 and verifies(key, CHALLENGE, raw)
    r, s = decode_dss_signature(key.sign(CHALLENGE, "der"))
    assert 0 < r and 0 < s
    for _ in range(5):
        short = key.sign(CHALLENGE, "p1363-unpadded")
        assert len(short) in (62, 63)  # one scalar short (of one byte, or rarely two)
        unsigned = key.sign(CHALLENGE, "der-unsigned")
        body = unsigned[2:]
        assert unsigned[0] == 0x30 and unsigned[1] == len(body)
        integers, rest = [], body
        while rest:
            assert rest[0] == 0x02
            integers.append(rest[2:2 + rest[1]])
            rest = rest[2 + rest[1]:]
        assert len(integers) == 2 and all(i[0] != 0 for i in integers)
        assert any(i[0] & 0x80 for i in integers)  # a top bit set, and no sign byte before it
    assert key.sign(CHALLENGE, "zeros") == bytes(64)
    with pytest.raises(ValueError, match="unknown signature form"):
        key.sign(CHALLENGE, "pem")


def test_the_text_forms(keys):
    key = keys["alice"]
    text = Handshake().signature_text(key, CHALLENGE)
    assert len(text) == 88 and text.endswith(b"==") and verifies(key, CHALLENGE, base64.b64decode(text))
    assert len(Handshake(base64="unpadded").signature_text(key, CHALLENGE)) == 86
    urlsafe = Handshake(base64="urlsafe").signature_text(key, CHALLENGE)
    assert (b"-" in urlsafe or b"_" in urlsafe) and b"+" not in urlsafe and b"/" not in urlsafe
    assert Handshake(pad_to=90).signature_text(key, CHALLENGE).endswith(b"====")
    newline = base64.b64decode(Handshake(message="challenge+newline").signature_text(key, CHALLENGE))
    assert verifies(key, CHALLENGE + b"\n", newline) and not verifies(key, CHALLENGE, newline)
    assert Handshake(line_end=b"\r\n").signature_line(key, CHALLENGE).endswith(b"==\r\n")


def test_unknown_choices_are_refused():
    for field, value in (("form", "pem"), ("base64", "hex"), ("message", "challenge+crlf")):
        with pytest.raises(ValueError, match=f"unknown .*{re.escape(value)}"):
            Handshake(**{field: value})


def test_a_key_from_d_alone_signs_like_the_jwk(two_keys):
    jwk = two_keys[1]["alice"]
    from_d = Key.from_d(jwk["kid"], jwk["d"])
    assert verifies(Key.from_jwk(jwk), CHALLENGE, from_d.sign(CHALLENGE))


# --- servers that are not QuestDB ----------------------------------------------------------------------------


class FakeServer:
    """One connection on 127.0.0.1: reads the key id line, then plays `script(sock)`; keeps what came."""

    def __init__(self, script):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(FAST)
        self.host, self.port = self.listener.getsockname()[:2]
        self.script = script
        self.key_id = b""
        self.after_key_id = b""
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join(FAST * 3)
        self.listener.close()
        assert not self.thread.is_alive(), "the fake server is still running"
        if self.error is not None:
            raise self.error

    def _serve(self) -> None:
        try:
            sock, _ = self.listener.accept()
            with sock:
                sock.settimeout(FAST)
                data = b""
                while b"\n" not in data:
                    data += sock.recv(1024)
                self.key_id, self.after_key_id = data.split(b"\n", 1)
                self.script(sock, self)
        except (OSError, AssertionError, ValueError) as error:  # re-raised in the test's thread
            self.error = error

    def read_to_eof(self, sock: socket.socket) -> None:
        """Keep what the client sends until it closes (or FAST passes)."""
        try:
            while chunk := sock.recv(4096):
                self.after_key_id += chunk
        except (TimeoutError, ConnectionError):
            pass


def play(server: FakeServer, key: Key, how: Handshake = client.CORRECT, timeout: float = FAST, **kwargs):
    started = time.monotonic()
    outcome = authenticate(server.host, server.port, key, how, timeout=timeout, **kwargs)
    return outcome, time.monotonic() - started


def test_a_10_byte_challenge_is_reported_and_not_signed(keys):
    def script(sock, server):
        sock.sendall(b"0123456789\n")
        server.read_to_eof(sock)

    with FakeServer(script) as server:
        outcome, took = play(server, keys["alice"])
    assert outcome.challenge is None and outcome.line == b"0123456789" and outcome.received == 11
    assert outcome.problem == "the challenge is 10 bytes, not 512"
    assert outcome.signature_line is None and outcome.closed is None  # nothing sent, not looked
    assert server.key_id == b"alice" and server.after_key_id == b""
    assert took < FAST


def test_a_challenge_without_a_line_end_ends_at_the_deadline(keys):
    def script(sock, server):
        sock.sendall(b"x" * 600)
        server.read_to_eof(sock)

    with FakeServer(script) as server:
        outcome, took = play(server, keys["alice"], timeout=0.5)
    assert outcome.challenge is None and outcome.line is None and outcome.received == 600
    assert outcome.problem == "no challenge line end within 0.5 s (600 bytes came)"
    assert outcome.closed is None and 0.4 < took < FAST


def test_a_challenge_without_a_line_end_ends_at_the_byte_limit(keys):
    def script(sock, server):
        try:
            sock.sendall(b"x" * (client.MAX_CHALLENGE_LINE + 10_000))
        except ConnectionError:
            return  # the client stopped reading and closed: what is tested
        server.read_to_eof(sock)

    with FakeServer(script) as server:
        outcome, took = play(server, keys["alice"])
    assert outcome.challenge is None and outcome.received > client.MAX_CHALLENGE_LINE
    assert outcome.problem == f"no challenge line end within {client.MAX_CHALLENGE_LINE} bytes"
    assert took < FAST


def test_a_server_that_says_nothing(keys):
    with FakeServer(lambda sock, server: server.read_to_eof(sock)) as server:
        outcome, took = play(server, keys["alice"], timeout=0.3)
    assert outcome.problem == "no challenge line end within 0.3 s (0 bytes came)" and outcome.reads == 0
    assert took < FAST


def test_a_close_in_the_middle_of_the_challenge(keys):
    with FakeServer(lambda sock, server: sock.sendall(CHALLENGE[:100])) as server:
        outcome, took = play(server, keys["alice"])
    assert outcome.challenge is None and outcome.closed is True and not outcome.reset
    assert outcome.received == 100
    assert outcome.problem == "the server closed the connection after 100 bytes, before the challenge's line end"
    assert took < FAST


def test_a_reset_in_the_middle_of_the_challenge(keys):
    def script(sock, server):
        sock.sendall(CHALLENGE[:100])
        time.sleep(0.1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST

    with FakeServer(script) as server, connect(server.host, server.port, FAST) as conn:
        conn.sock.sendall(b"alice\n")
        time.sleep(0.3)  # the RST arrives before the client reads
        assert conn.read_challenge() is None
    outcome = conn.outcome
    assert outcome.closed is True and outcome.reset is True and outcome.challenge is None
    assert outcome.problem.startswith("ConnectionResetError after ")


def test_a_challenge_in_one_byte_pieces_is_read_whole_and_signed(keys):
    def script(sock, server):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in CHALLENGE + b"\n":
            sock.sendall(bytes([byte]))
            time.sleep(0.001)
        server.read_to_eof(sock)

    with FakeServer(script) as server:
        outcome, took = play(server, keys["alice"], Handshake(rows=b"t x=1i\n"), drain=True)
    assert outcome.challenge == CHALLENGE and outcome.problem is None and outcome.reads > 10
    text, rows = server.after_key_id.split(b"\n", 1)
    assert rows == b"t x=1i\n" and text + b"\n" == outcome.signature_line
    assert verifies(keys["alice"], CHALLENGE, base64.b64decode(text))
    assert outcome.closed is True and took < FAST  # the fake closed once the client half-closed


def test_bytes_after_the_challenge_are_kept_apart_and_not_signed(keys):
    def script(sock, server):
        sock.sendall(CHALLENGE + b"\nextra\n")
        server.read_to_eof(sock)

    with FakeServer(script) as server:
        outcome, _ = play(server, keys["alice"], listen=None)
    assert outcome.challenge == CHALLENGE and outcome.extra == b"extra\n"
    assert verifies(keys["alice"], CHALLENGE, base64.b64decode(server.after_key_id.rstrip(b"\n")))


def test_silence_and_a_close_after_the_signature(keys):
    def silent(sock, server):
        server.read_to_eof(sock)

    def closes(sock, server):
        sock.sendall(CHALLENGE + b"\n")
        sock.recv(100)

    with FakeServer(lambda sock, server: (sock.sendall(CHALLENGE + b"\n"), silent(sock, server))) as server:
        outcome, took = play(server, keys["alice"], listen=0.3)
    assert outcome.closed is False and 0.25 < took < FAST
    with FakeServer(closes) as server:
        outcome, took = play(server, keys["alice"])
    assert outcome.closed is True and took < client.SILENCE


def test_a_drain_that_the_server_never_ends(keys):
    def script(sock, server):
        sock.sendall(CHALLENGE + b"\n")
        time.sleep(1.0)  # reads nothing more and does not close

    with FakeServer(script) as server, connect(server.host, server.port, FAST) as conn:
        conn.handshake(keys["alice"])
        started = time.monotonic()
        assert conn.half_close_and_drain(within=0.3) is False
        assert conn.outcome.closed is False and time.monotonic() - started < 0.3 + 0.2


def test_a_refused_connect_raises():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(ConnectionRefusedError):
            connect("127.0.0.1", port, FAST)


def test_extra_keys_are_accepted_only_while_their_block_runs(stub):
    from server_stub.authdb import parse_auth_db
    from server_stub.keys import auth_line, generate_jwk

    jwk = generate_jwk("snippetKey")
    key = Key.from_jwk(jwk)
    with stub.extra_keys(parse_auth_db(auth_line(jwk) + "\n", "<snippet>")) as added:
        assert added == ["snippetKey"]
        inside = authenticate(stub.host, stub.port, key, Handshake(form="der", rows=b"t ok=true\n"), timeout=FAST)
        assert verdict(stub, inside).auth["accepted"]
    after = authenticate(stub.host, stub.port, key, Handshake(form="der", rows=b"t ok=true\n"), timeout=FAST)
    seen = verdict(stub, after).auth
    assert not seen["accepted"] and seen["reason_code"] == "unknown_key_id"


def test_extra_keys_may_replace_a_served_key_for_the_block_only(stub, two_keys):
    from server_stub.authdb import parse_auth_db
    from server_stub.keys import auth_line, generate_jwk

    kid, jwk_before = next(iter(two_keys[1].items()))
    other = generate_jwk(kid)
    with stub.extra_keys(parse_auth_db(auth_line(other) + "\n", "<snippet>"), replace=True) as changed:
        assert changed == [kid]
        inside = authenticate(stub.host, stub.port, Key.from_jwk(other), Handshake(form="der"), timeout=FAST)
        assert verdict(stub, inside).auth["accepted"]
    after = authenticate(stub.host, stub.port, Key.from_jwk(jwk_before), Handshake(form="der"), timeout=FAST)
    assert verdict(stub, after).auth["accepted"]  # the file's key serves again
