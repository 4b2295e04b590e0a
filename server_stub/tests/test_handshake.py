"""The handshake on a real socket: each rule of server_stub/PROTOCOL.md section 1, each rejection reason.

Every test checks both sides: what the client sees on the wire (a challenge, then silence or a
silent close) and the stub's `auth` event (accepted, encoding, reason_code, hint).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from wire import b64, closed_by_peer, connect, der_signature, handshake, raw_signature, read_line

from server_stub import run_stub
from server_stub.client import Key
from server_stub.loops import LOOPS
from server_stub.signature import edge_cases

ROWS = b"weather,city=Paris temp=21.5,ok=t 1700000000000000000\n"


@pytest.fixture(params=LOOPS)
def stub(two_keys, request):
    """A running stub, once on each event loop the stub can run on (uvloop and asyncio's own)."""
    with run_stub(two_keys[0], loop=request.param) as running:
        yield running


@pytest.fixture
def alice(two_keys):
    return two_keys[1]["alice"]


@pytest.fixture
def bob(two_keys):
    return two_keys[1]["bob"]


def only_auth(stub) -> dict:
    stub.wait_for_closed(1)
    (auth,) = stub.events("auth")
    return auth


def rejected(stub, sock, reason_code: str) -> dict:
    """The connection was closed silently and the stub recorded reason_code, a reason and a hint."""
    assert closed_by_peer(sock)
    auth = only_auth(stub)
    assert auth["accepted"] is False
    assert auth["reason_code"] == reason_code, auth
    assert auth["reason"] and auth["hint"]
    assert not stub.events("row")
    return auth


# --- what is accepted -------------------------------------------------------------------------


def test_padded_raw_signature_is_accepted_and_nothing_is_sent(stub, alice):
    sent = []
    sock = handshake(stub, "alice", lambda c: b64(sent.append(raw_signature(alice, c)) or sent[-1]))
    auth = stub.wait_for_auth(1)[0]
    r, s = int.from_bytes(sent[0][:32], "big"), int.from_bytes(sent[0][32:], "big")
    assert auth | {"conn": 1} == {
        "event": "auth", "conn": 1, "kid": "alice", "accepted": True, "encoding": "p1363",
        "signature_b64_chars": 88, "signature_bytes": 64, "reason": None, "hint": None,
        "discarded_bytes": 0, "pipelined_bytes": 0, "edge_cases": edge_cases(r, s),
    }
    sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        sock.recv(1)  # success is silent


def test_der_signature_is_accepted(stub, alice):
    handshake(stub, "alice", lambda c: b64(der_signature(alice, c)))
    auth = stub.wait_for_auth(1)[0]
    assert (auth["accepted"], auth["encoding"]) == (True, "der")
    assert 70 <= auth["signature_bytes"] <= 72


def test_der_without_a_sign_byte_is_accepted_as_questdb_does_with_a_warning(stub, alice):
    """QuestDB's JDK reads a DER INTEGER as unsigned (server_stub/PROTOCOL.md section 1.3): accepted, rows kept,
    and the event warns that strict verifiers reject it, naming the scalar."""
    der = Key.from_jwk(alice).sign  # re-signs until r or s has its top bit set, then drops the 0x00
    sent = []
    sock = handshake(stub, "alice", lambda c: b64(sent.append(der(c, "der-unsigned")) or sent[-1]),
                     after_signature=b"t x=1i\n")
    sock.close()
    auth = stub.wait_for_auth(1)[0]
    assert (auth["accepted"], auth["encoding"], auth["warning_code"]) == (True, "der", "der_missing_sign_byte")
    r_len = sent[0][3]
    unsigned = [name for name, first in (("r", sent[0][4]), ("s", sent[0][4 + r_len + 2])) if first >= 0x80]
    assert f"INTEGER of {' and '.join(unsigned)} has its top bit set" in auth["warning"]
    assert "strict verifiers (OpenSSL, Go's crypto/ecdsa) reject" in auth["warning"]
    assert stub.wait_for_rows(1)[0]["columns"] == {"x": {"type": "integer", "value": 1}}


def test_strict_der_gets_no_warning(stub, alice):
    handshake(stub, "alice", lambda c: b64(der_signature(alice, c)))
    assert "warning_code" not in stub.wait_for_auth(1)[0]


def test_base64_padding_is_optional(stub, alice):
    handshake(stub, "alice", lambda c: b64(raw_signature(alice, c)).rstrip(b"="))
    auth = stub.wait_for_auth(1)[0]
    assert auth["accepted"] and auth["signature_b64_chars"] == 86


def test_96_characters_with_extra_padding_are_accepted_97_are_not(stub, alice):
    handshake(stub, "alice", lambda c: b64(raw_signature(alice, c)).rstrip(b"=").ljust(96, b"="))
    assert stub.wait_for_auth(1)[0]["accepted"]
    sock = handshake(stub, "alice", lambda c: b64(raw_signature(alice, c)).rstrip(b"=").ljust(97, b"="))
    assert closed_by_peer(sock)
    auth = stub.wait_for_auth(2)[1]
    assert auth["reason_code"] == "signature_too_long" and "97" in auth["reason"]


def test_rows_pipelined_behind_the_signature_are_kept(stub, alice):
    handshake(stub, "alice", lambda c: b64(raw_signature(alice, c)), after_signature=ROWS)
    (row,) = stub.wait_for_rows(1)
    assert row["table"] == "weather" and row["symbols"] == {"city": "Paris"}
    assert row["columns"]["temp"] == {"type": "float", "value": 21.5}
    assert stub.events("auth")[0]["pipelined_bytes"] == len(ROWS)


def test_rows_sent_before_the_signature_are_discarded(stub, alice):
    sock = handshake(stub, "alice", lambda c: b64(raw_signature(alice, c)), after_key_id=ROWS)
    sock.sendall(b"later x=1i\n")
    sock.close()
    close = stub.wait_for_closed(1)[0]
    assert [r["table"] for r in stub.events("row")] == ["later"]
    assert stub.events("auth")[0]["discarded_bytes"] == len(ROWS)
    assert close["rows"] == 1


def test_challenge_is_512_printable_bytes_and_fresh_each_time(stub):
    challenges = set()
    for _ in range(3):
        sock = connect(stub)
        sock.sendall(b"alice\n")
        challenge = read_line(sock)
        assert len(challenge) == 512
        assert all(0x20 <= b <= 0x7E for b in challenge)
        challenges.add(challenge)
        sock.close()
    assert len(challenges) == 3


# --- what is rejected, and why ----------------------------------------------------------------


def test_unknown_key_id_still_gets_a_challenge(stub, alice):
    sock = handshake(stub, "mallory", lambda c: b64(raw_signature(alice, c)))
    auth = rejected(stub, sock, "unknown_key_id")
    assert "real_server_closes" not in auth  # QuestDB closes this one too
    assert auth["encoding"] == "p1363"
    assert "'mallory'" in auth["reason"]
    assert "'alice'" in auth["hint"]  # the signature verifies for alice: wrong key id


def test_key_id_with_carriage_return_is_unknown(stub, alice):
    sock = handshake(stub, "alice\r", lambda c: b64(raw_signature(alice, c)))
    auth = rejected(stub, sock, "unknown_key_id")
    assert auth["kid"] == "alice\r"
    assert "\\r\\n" in auth["hint"]


def test_key_ids_are_case_sensitive(stub, alice):
    rejected(stub, handshake(stub, "Alice", lambda c: b64(raw_signature(alice, c))), "unknown_key_id")


def test_key_id_line_too_long(two_keys):
    with run_stub(two_keys[0], max_key_id_bytes=1024) as stub:
        sock = connect(stub)
        sock.sendall(b"a" * 2000)
        auth = rejected(stub, sock, "key_id_too_long")
        assert "1024" in auth["reason"]


@pytest.mark.parametrize(
    "char, hint_word",
    [(b"-", "URL-safe"), (b"_", "URL-safe"), (b" ", "standard base64"), (b"\r", "\\r\\n"), (b"*", "standard base64")],
)
def test_invalid_base64_character_is_named(stub, alice, char, hint_word):
    def answer(challenge):
        text = b64(raw_signature(alice, challenge))
        return text[:10] + char + text[11:] if char != b"\r" else text + char

    auth = rejected(stub, handshake(stub, "alice", answer), "base64_invalid_char")
    assert repr(char.decode()) in auth["reason"]
    assert hint_word in auth["hint"]
    assert auth["real_server_closes"] is False and "stays open" in auth["real_server"]
    assert auth["encoding"] == "invalid" and auth["signature_bytes"] is None


def test_url_safe_alphabet_signature(stub, alice):
    """Sign until the standard base64 has a '+' or '/', then send it URL-safe."""
    for _ in range(50):
        sock = connect(stub)
        sock.sendall(b"alice\n")
        challenge = read_line(sock)
        sig = raw_signature(alice, challenge)
        if b"+" in b64(sig) or b"/" in b64(sig):
            sock.sendall(base64.urlsafe_b64encode(sig) + b"\n")
            assert closed_by_peer(sock)
            auth = stub.wait_for_auth(1)[0]
            assert auth["reason_code"] == "base64_invalid_char" and "URL-safe" in auth["hint"]
            return
        sock.close()
        stub.wait_for_closed(1)
        stub.log._memory.clear()
    pytest.fail("no signature with + or / in 50 tries")


def test_invalid_base64_length(stub, alice):
    auth = rejected(stub, handshake(stub, "alice", lambda c: b64(raw_signature(alice, c))[:85]), "base64_invalid_length")
    assert "85" in auth["reason"]


def test_empty_signature(stub):
    rejected(stub, handshake(stub, "alice", lambda c: b""), "empty_signature")


@pytest.mark.parametrize("length", [64, 70])
def test_all_zero_signature(stub, length):
    auth = rejected(stub, handshake(stub, "alice", lambda c: b64(bytes(length))), "all_zero_signature")
    assert auth["signature_bytes"] == length


def _minimal_bytes(n: int) -> bytes:
    """What Go's big.Int.Bytes() returns: no leading zero bytes."""
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


@pytest.mark.parametrize("scalar", ["r", "s"])
def test_short_raw_signature_names_the_unpadded_scalar(two_keys, alice, scalar):
    """The 1-in-128 defect: r.Bytes() || s.Bytes() drops a leading zero byte."""
    with run_stub(two_keys[0]) as stub:
        for attempt in range(2000):
            sock = connect(stub)
            sock.sendall(b"alice\n")
            challenge = read_line(sock)
            r, s = decode_dss_signature(der_signature(alice, challenge))
            value = r if scalar == "r" else s
            if value < 1 << 248:
                sock.sendall(b64(_minimal_bytes(r) + _minimal_bytes(s)) + b"\n")
                break
            sock.close()
        else:
            pytest.fail("no scalar with a leading zero byte in 2000 signatures")
        assert closed_by_peer(sock)
        auth = stub.wait_for_auth(attempt + 1)[-1]
        assert auth["reason_code"] == "short_raw_signature", auth
        assert auth["encoding"] == "der" and auth["signature_bytes"] < 64
        assert auth["hint"].startswith(f"{scalar} lost its leading zero byte")
        assert "32 bytes" in auth["hint"]


def test_malformed_der(stub, alice):
    def answer(challenge):
        der = der_signature(alice, challenge)
        return b64(der[:1] + bytes([der[1] - 1]) + der[2:])  # SEQUENCE length one byte short

    auth = rejected(stub, handshake(stub, "alice", answer), "malformed_der")
    assert auth["encoding"] == "der"


def test_signature_that_does_not_verify(stub, alice):
    auth = rejected(stub, handshake(stub, "alice", lambda c: b64(raw_signature(alice, b"something else"))), "signature_mismatch")
    assert auth["encoding"] == "p1363"
    assert "mistakes" not in auth


def _mistake(jwk, challenge: bytes, code: str) -> bytes:
    if code == "signed_with_newline":
        return b64(raw_signature(jwk, challenge + b"\n"))
    if code == "signed_base64_challenge":
        return b64(raw_signature(jwk, base64.b64encode(challenge)))
    if code == "signed_hex_challenge":
        return b64(raw_signature(jwk, binascii.hexlify(challenge)))
    if code == "double_hashed":
        return b64(der_signature(jwk, hashlib.sha256(challenge).digest()))
    if code == "swapped_r_s":
        sig = raw_signature(jwk, challenge)
        return b64(sig[32:] + sig[:32])
    raise AssertionError(code)


@pytest.mark.parametrize(
    "code", ["signed_with_newline", "signed_base64_challenge", "signed_hex_challenge", "double_hashed", "swapped_r_s"]
)
def test_typical_client_mistakes_are_named(stub, alice, code):
    auth = rejected(stub, handshake(stub, "alice", lambda c: _mistake(alice, c, code)), code)
    assert auth["mistakes"] == [code]


def test_wrong_key(stub, bob):
    auth = rejected(stub, handshake(stub, "alice", lambda c: b64(der_signature(bob, c))), "wrong_key")
    assert "'bob'" in auth["reason"] and "'bob'" in auth["hint"]


def test_wrong_key_and_newline_are_both_named(stub, bob):
    auth = rejected(stub, handshake(stub, "alice", lambda c: b64(raw_signature(bob, c + b"\n"))), "wrong_key")
    assert auth["mistakes"] == ["wrong_key", "signed_with_newline"]
    assert "newline" in auth["reason"]


def test_swapped_der_scalars(stub, alice):
    def answer(challenge):
        r, s = decode_dss_signature(der_signature(alice, challenge))
        return b64(encode_dss_signature(s, r))

    rejected(stub, handshake(stub, "alice", answer), "swapped_r_s")


# --- the peer goes away or stalls ---------------------------------------------------------------


def test_closed_before_key_id(stub):
    sock = connect(stub)
    sock.sendall(b"alic")
    sock.close()
    (close,) = stub.wait_for_closed(1)
    auth = only_auth(stub)
    assert (auth["accepted"], auth["reason_code"], close["cause"]) == (False, "closed_before_key_id", "peer_closed")


def test_closed_before_signature(stub):
    sock = connect(stub)
    sock.sendall(b"alice\n")
    read_line(sock)
    sock.close()
    stub.wait_for_closed(1)
    assert only_auth(stub)["reason_code"] == "closed_before_signature"


@pytest.mark.parametrize("sent, reason_code, missing", [(b"ali", "key_id_timeout", "key_id"), (b"alice\n", "signature_timeout", "signature")])
def test_handshake_timeout_records_what_was_missing(two_keys, sent, reason_code, missing):
    with run_stub(two_keys[0], handshake_timeout=0.3) as stub:
        sock = connect(stub)
        sock.sendall(sent)
        if sent.endswith(b"\n"):
            read_line(sock)
        auth = rejected(stub, sock, reason_code)
        assert auth["missing"] == missing
        assert stub.events("close")[0]["cause"] == "timeout"


def test_every_connection_gets_exactly_one_auth_event(stub, alice):
    socks = [handshake(stub, "alice", lambda c: b64(raw_signature(alice, c))) for _ in range(5)]
    socks += [handshake(stub, "nobody", lambda c: b"AAAA") for _ in range(5)]
    for sock in socks:
        sock.close()
    stub.wait_for_closed(10)
    by_conn = {}
    for auth in stub.events("auth"):
        by_conn.setdefault(auth["conn"], []).append(auth["accepted"])
    assert sorted(by_conn.values()) == [[False]] * 5 + [[True]] * 5


def test_many_concurrent_handshakes(stub, alice):
    """200 connections open at once, each at a different step, all served."""
    socks = [connect(stub) for _ in range(200)]
    for sock in socks:
        sock.sendall(b"alice\n")
    challenges = [read_line(sock) for sock in socks]
    for sock, challenge in zip(socks, challenges, strict=True):
        sock.sendall(b64(raw_signature(alice, challenge)) + b"\n" + b"t x=1i\n")
    for sock in socks:
        sock.close()
    stub.wait_for_closed(200)
    assert [a["accepted"] for a in stub.events("auth")] == [True] * 200
    assert len(stub.events("row")) == 200
