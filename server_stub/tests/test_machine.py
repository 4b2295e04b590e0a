"""The stub's handshake and rows driven by bytes and ticks alone (machine.py): no socket, no transport,
no event loop. Each state of server_stub/PROTOCOL.md section 1, the timeout by ticks, and the
invariants every connection keeps (driving.Driven.check)."""

from __future__ import annotations

import base64

import pytest
from driving import Driven, driven, machine
from hypothesis import given, settings
from hypothesis import strategies as st
from wire import der_signature, raw_signature

from server_stub.authdb import load_auth_db
from server_stub.machine import CHALLENGE_BYTES, Close, Emit, EmitRows, Send, State, Wake
from server_stub.tables import Tables

ROWS = b"t,c=a n=1i\nt,c=b n=2i\nt,c=c n=3i\n"
TIMEOUT = 15.0


@pytest.fixture(scope="module")
def keys(two_keys):
    return load_auth_db(two_keys[0])


@pytest.fixture(scope="module")
def alice(two_keys):
    return two_keys[1]["alice"]


def signed(jwk: dict, challenge: bytes) -> bytes:
    return base64.b64encode(raw_signature(jwk, challenge)) + b"\n"


def accepted(keys, alice, **limits) -> Driven:
    d = driven(keys, **limits)
    d.receive(b"alice\n")
    d.receive(signed(alice, d.challenge))
    assert d.auth["accepted"] and d.machine.state is State.ROWS
    return d


# --- key id ------------------------------------------------------------------------------------


def test_start_records_the_connection_and_asks_to_be_woken_at_the_deadline(keys):
    d = driven(keys, now=100.0)
    assert d.last == [Emit({"event": "connect", "conn": 1, "peer": "127.0.0.1:40000"}), Wake(100.0 + TIMEOUT)]
    assert d.machine.state is State.KEY_ID and d.machine.deadline == 100.0 + TIMEOUT


def test_the_key_id_may_arrive_in_pieces_and_the_challenge_follows_its_newline(keys):
    d = driven(keys, challenge=lambda: b"C" * CHALLENGE_BYTES)
    assert d.receive(b"ali") == [] and d.receive(b"c") == []
    assert d.receive(b"e\n") == [Send(b"C" * CHALLENGE_BYTES + b"\n")]
    assert (d.machine.state, d.machine.kid) == (State.SIGNATURE, "alice")


def test_a_carriage_return_stays_part_of_the_key_id(keys, alice):
    d = driven(keys)
    d.receive(b"alice\r\n")
    assert d.machine.kid == "alice\r" and len(d.challenge) == CHALLENGE_BYTES  # a challenge all the same
    d.receive(signed(alice, d.challenge))
    assert (d.auth["reason_code"], d.closed) == ("unknown_key_id", "rejected")
    assert "\\r\\n" in d.auth["hint"]


def test_bytes_after_the_key_id_in_the_same_read_are_discarded(keys, alice):
    d = driven(keys)
    d.receive(b"alice\n" + ROWS)
    d.receive(signed(alice, d.challenge))
    assert d.auth["discarded_bytes"] == len(ROWS) and d.of("row") == []


@pytest.mark.parametrize("pieces", ["whole", "at the limit", "byte by byte"])
def test_the_key_id_limit_holds_however_the_bytes_arrive(keys, pieces):
    line = b"x" * 600 + b"\n"
    d = driven(keys, max_key_id_bytes=512)
    reads = {"whole": [line], "at the limit": [line[:512], line[512:]],
             "byte by byte": [line[i:i + 1] for i in range(len(line))]}[pieces]
    for data in reads:
        d.receive(data)
    assert (d.auth["reason_code"], d.auth["kid"], d.closed) == ("key_id_too_long", None, "rejected")
    assert d.close["bytes"] == (len(line) if pieces == "whole" else 512)  # the rest is never read
    d.check()


def test_a_key_id_one_byte_under_the_limit_is_a_key_id(keys):
    d = driven(keys, max_key_id_bytes=512)
    d.receive(b"x" * 511 + b"\n")
    assert d.machine.state is State.SIGNATURE and len(d.sent) == CHALLENGE_BYTES + 1


# --- signature ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["raw", "der"])
def test_an_accepted_signature_sends_nothing_and_ends_the_deadline(keys, alice, form):
    d = driven(keys)
    d.receive(b"alice\n")
    sign = raw_signature if form == "raw" else der_signature
    actions = d.receive(base64.b64encode(sign(alice, d.challenge)) + b"\n")
    assert [type(a) for a in actions] == [Wake, Emit] and actions[0] == Wake(None)
    assert d.auth["encoding"] == {"raw": "p1363", "der": "der"}[form]
    assert len(d.sent) == CHALLENGE_BYTES + 1 and d.machine.deadline is None
    assert d.tick(1e9) == []  # no timeout once accepted


def test_the_signature_line_may_arrive_in_pieces(keys, alice):
    d = driven(keys)
    d.receive(b"alice\n")
    line = signed(alice, d.challenge)
    for i in range(len(line)):
        d.receive(line[i:i + 1])
    assert d.auth["accepted"] and d.auth["pipelined_bytes"] == 0


def test_rows_pipelined_behind_the_signature_are_the_first_rows(keys, alice):
    d = driven(keys)
    d.receive(b"alice\n")
    actions = d.receive(signed(alice, d.challenge) + ROWS)
    assert [type(a) for a in actions] == [Wake, Emit, EmitRows]
    assert d.auth["pipelined_bytes"] == len(ROWS)
    assert [r["symbols"]["c"] for r in d.of("row")] == ["a", "b", "c"]


@pytest.mark.parametrize("line, reason_code", [
    (b"AAAA", "all_zero_signature"), (b"", "empty_signature"), (b"A-B_", "base64_invalid_char"),
    (b"A" * 97, "signature_too_long"),
])
def test_a_rejected_signature_closes_and_nothing_follows(keys, line, reason_code):
    d = driven(keys)
    d.receive(b"alice\n")
    actions = d.receive(line + b"\n" + ROWS)
    assert [type(a) for a in actions] == [Wake, Emit, Emit, Close] and actions[0] == Wake(None)
    assert (d.auth["accepted"], d.auth["reason_code"], d.close["cause"]) == (False, reason_code, "rejected")
    assert d.machine.state is State.CLOSED and d.of("row") == []
    # once closed: no input changes anything
    assert (d.handler.receive(ROWS), d.handler.tick(1e9), d.handler.peer_closed(), d.handler.stop()) == ((),) * 4
    d.peer_closed()
    d.check()


def test_a_signature_line_without_newline_is_too_long_at_the_line_limit(keys):
    d = driven(keys, max_line_bytes=256)
    d.receive(b"alice\n")
    d.receive(b"A" * 200)
    assert d.of("auth") == []
    d.receive(b"A" * 56)
    assert (d.auth["reason_code"], d.closed) == ("signature_too_long", "rejected")
    assert "256+" in d.auth["reason"]


def test_the_mistake_is_named(keys, alice):
    d = driven(keys)
    d.receive(b"alice\n")
    d.receive(signed(alice, d.challenge + b"\n"))
    assert (d.auth["reason_code"], d.auth["mistakes"]) == ("signed_with_newline", ["signed_with_newline"])


# --- rows --------------------------------------------------------------------------------------


def test_the_rows_of_one_read_are_one_action(keys, alice):
    d = accepted(keys, alice)
    actions = d.receive(ROWS * 100)
    assert len(actions) == 1 and type(actions[0]) is EmitRows and len(actions[0].rows) == 300
    assert d.receive(b"t n=") == []  # no complete line: nothing at all
    assert [type(a) for a in d.receive(b"4i\n")] == [EmitRows]


def test_a_last_line_without_its_end_is_not_parsed_and_counted_at_the_close(keys, alice):
    d = accepted(keys, alice)
    d.receive(ROWS + b"t n=9")
    d.peer_closed()
    assert (d.close["cause"], d.close["rows"], d.close["unterminated_bytes"]) == ("peer_closed", 3, 5)
    assert d.closed is None  # the connection is gone already: no Close
    d.check()


def test_a_malformed_line_keeps_the_rows_before_it_and_closes(keys, alice):
    d = accepted(keys, alice)
    actions = d.receive(ROWS + b"t n=@\n" + ROWS)
    assert [type(a) for a in actions] == [EmitRows, Emit, Emit, Close]
    (error,) = d.of("ilp_error")
    assert error["line"] == 4 and d.close["cause"] == "ilp_error" and d.close["rows"] == 3
    d.check()


def test_a_name_questdb_refuses_ends_the_connection_like_a_malformed_line(keys, alice):
    d = accepted(keys, alice)
    d.receive(b"t\\,u n=1i\n")
    assert "invalid table name" in d.of("ilp_error")[0]["error"] and d.closed == "ilp_error"


# --- the timeout, by ticks alone ---------------------------------------------------------------


def test_no_key_id_times_out_at_the_deadline_and_not_before(keys):
    d = driven(keys, now=10.0)
    assert d.tick(10.0 + TIMEOUT - 0.001) == []
    d.tick(10.0 + TIMEOUT)
    assert (d.auth["reason_code"], d.auth["missing"], d.close["cause"], d.closed) == \
        ("key_id_timeout", "key_id", "timeout", "timeout")
    d.check()


def test_no_signature_times_out_from_the_same_deadline(keys):
    d = driven(keys, handshake_timeout=2.0)
    d.receive(b"alice\n")
    d.run_until(1.9)
    assert d.of("auth") == []
    d.run_until(5.0)
    assert (d.auth["reason_code"], d.auth["missing"], d.auth["kid"]) == ("signature_timeout", "signature", "alice")
    assert "2.0 s" in d.auth["reason"]
    d.check()


def test_a_tick_long_after_the_deadline_is_a_timeout_all_the_same(keys):
    d = driven(keys)
    d.tick(1e6)
    assert d.auth["reason_code"] == "key_id_timeout"


# --- ends from either side ---------------------------------------------------------------------


@pytest.mark.parametrize("reached, reason_code", [
    ("nothing", "closed_before_key_id"), ("key id", "closed_before_signature"), ("rows", None),
])
def test_the_peer_closing_in_each_state(keys, alice, reached, reason_code):
    d = accepted(keys, alice) if reached == "rows" else driven(keys)
    if reached == "key id":
        d.receive(b"alice\n")
    d.peer_closed()
    assert d.auth.get("reason_code") == reason_code and d.close["cause"] == "peer_closed"
    assert d.closed is None
    d.check()


@pytest.mark.parametrize("reached", ["nothing", "key id", "rows"])
def test_a_stop_in_each_state(keys, alice, reached):
    d = accepted(keys, alice) if reached == "rows" else driven(keys)
    if reached == "key id":
        d.receive(b"alice\n")
    d.stop()
    assert d.close["cause"] == "server_stop" and d.closed == "server_stop"
    if reached != "rows":
        assert d.auth["reason_code"] == "server_stop"
    d.peer_closed()  # the transport's close then comes back as connection_lost: nothing more
    d.check()


# --- every connection, whatever comes in -------------------------------------------------------

INPUTS = st.lists(st.one_of(
    st.tuples(st.just("receive"), st.binary(max_size=40)),
    st.tuples(st.just("receive"), st.sampled_from([b"alice\n", b"alice", b"\n", b"bob\n", ROWS, b"t n=1i\n"])),
    st.tuples(st.just("signature"), st.booleans()),
    st.tuples(st.just("tick"), st.floats(0, 2 * TIMEOUT)),
), max_size=12)


@settings(max_examples=300, deadline=None)
@given(inputs=INPUTS, end=st.sampled_from(["peer_closed", "stop", "timeout"]))
def test_any_inputs_give_one_auth_and_no_row_without_it(two_keys, inputs, end):
    keys, alice = load_auth_db(two_keys[0]), two_keys[1]["alice"]
    d = driven(keys, max_key_id_bytes=64, max_line_bytes=128)
    clock = 0.0
    for kind, value in inputs:
        if kind == "tick":
            clock = max(clock, value)
            d.run_until(clock)
        elif kind == "signature":
            if d.machine.state is State.SIGNATURE:
                d.receive(signed(alice, d.machine.challenge) + (ROWS if value else b""))
        else:
            d.receive(value)
    if end == "timeout":
        d.run_until(clock + 2 * TIMEOUT)
    if end == "stop" or (end == "timeout" and d.open):
        d.stop()
    d.peer_closed()
    d.check()
    assert len(d.sends) <= 1 and len(d.sent) in (0, CHALLENGE_BYTES + 1)


def test_a_key_id_that_is_not_utf8_gets_no_challenge_and_is_left_open_by_questdb(keys):
    d = driven(keys)
    actions = d.receive(b"alice\xff\n")
    assert not any(isinstance(a, Send) for a in actions)
    assert d.auth["reason_code"] == "key_id_not_utf8" and d.auth["real_server_closes"] is False
    assert "0xff" in d.auth["reason"]
    d.check()


def test_the_connections_of_one_server_share_its_tables(keys, alice):
    tables = Tables()
    first, second = (Driven(machine(keys, conn=n)) for n in (1, 2))
    for d in (first, second):
        d.machine.tables = tables
        d.receive(b"alice\n")
        d.receive(signed(alice, d.challenge))
    first.receive(b"t v=1i\n")
    second.receive(b't v="x"\n')
    assert "column 'v' is LONG" in second.of("ilp_error")[0]["error"] and second.closed == "ilp_error"


def test_a_der_signature_of_exactly_64_bytes_is_read_as_raw(keys):
    """The length alone decides (server_stub/PROTOCOL.md section 1.3): 64 bytes are r||s, even when they are a
    well-formed DER SEQUENCE. No live challenge gives a 64-byte DER signature (r and s would both
    need to be 29 bytes), so the differential run cannot play one: it is tested here."""
    body = b"\x02\x1d" + bytes(range(1, 30)) + b"\x02\x1d" + bytes(range(31, 60))
    der = b"\x30" + bytes([len(body)]) + body
    assert len(der) == 64
    d = driven(keys)
    d.receive(b"alice\n")
    d.receive(base64.b64encode(der) + b"\n")
    assert not d.auth["accepted"] and d.auth["encoding"] == "p1363" and d.auth["signature_bytes"] == 64
    assert d.auth["reason_code"] != "malformed_der"
