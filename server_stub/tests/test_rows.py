"""Rows on a real socket after a good handshake: typed row events, and the server's reaction to a
malformed line (record it, keep the rows before it, close the connection)."""

from __future__ import annotations

import pytest
from wire import b64, closed_by_peer, handshake, raw_signature

from server_stub import run_stub
from server_stub.loops import LOOPS

ROWS = (
    b"trades,sym=BTC\\ USD,side=buy price=30000.5,qty=-2i,note=\"say \\\"hi\\\"\\\\\",ok=TRUE,"
    b"at=1700000000000000t 1700000000000000000\n"
    b"m\\ x,t\\=g=\xc3\xa9t\xc3\xa9 v=NaN,w=-Infinity,e=1.5e-3 1700000000000m\r\n"
    b"no_ts x=1i\n"
)


@pytest.fixture(params=LOOPS)
def stub(two_keys, request):
    """A running stub, once on each event loop the stub can run on (uvloop and asyncio's own)."""
    with run_stub(two_keys[0], loop=request.param) as running:
        yield running


def authenticated(stub, two_keys, rows: bytes):
    alice = two_keys[1]["alice"]
    return handshake(stub, "alice", lambda c: b64(raw_signature(alice, c)), after_signature=rows)


def test_typed_rows(stub, two_keys):
    authenticated(stub, two_keys, ROWS).close()
    stub.wait_for_closed(1)
    first, second, third = stub.events("row")
    assert first["table"] == "trades" and first["symbols"] == {"sym": "BTC USD", "side": "buy"}
    assert first["columns"] == {
        "price": {"type": "float", "value": 30000.5},
        "qty": {"type": "integer", "value": -2},
        "note": {"type": "string", "value": 'say "hi"\\'},
        "ok": {"type": "boolean", "value": True},
        "at": {"type": "timestamp", "value": 1700000000000000, "unit": "us"},
    }
    assert first["timestamp"] == {"value": 1700000000000000000, "unit": "ns"}
    assert (second["table"], second["symbols"]) == ("m x", {"t=g": "été"})
    assert second["columns"]["v"] == {"type": "float", "value": "NaN"}
    assert second["columns"]["w"] == {"type": "float", "value": "-Infinity"}
    assert second["timestamp"] == {"value": 1700000000000, "unit": "ms"}
    assert third["timestamp"] is None
    assert stub.events("close")[0]["rows"] == 3


def test_malformed_line_closes_and_keeps_earlier_rows(stub, two_keys):
    sock = authenticated(stub, two_keys, b"t a=1i\nt a=2i\nt a=oops\nt a=4i\n")
    assert closed_by_peer(sock)
    (close,) = stub.wait_for_closed(1)
    assert [r["columns"]["a"]["value"] for r in stub.events("row")] == [1, 2]
    (error,) = stub.events("ilp_error")
    assert error["line"] == 3 and error["text"] == "t a=oops" and "oops" in error["error"]
    assert (close["cause"], close["rows"]) == ("ilp_error", 2)


def test_last_line_without_line_end_is_not_parsed(stub, two_keys):
    authenticated(stub, two_keys, b"t a=1i\nt a=2i").close()
    (close,) = stub.wait_for_closed(1)
    assert len(stub.events("row")) == 1
    assert close["unterminated_bytes"] == len(b"t a=2i")


def test_ilp_line_limit(two_keys):
    with run_stub(two_keys[0], max_line_bytes=1000) as stub:
        sock = authenticated(stub, two_keys, b"t a=1i\nt s=\"" + b"x" * 2000)
        assert closed_by_peer(sock)
        stub.wait_for_closed(1)
        assert "too long" in stub.events("ilp_error")[0]["error"]
        assert len(stub.events("row")) == 1


@pytest.mark.parametrize("line, what", [
    # ILP can escape these characters; QuestDB still refuses the names
    (b"a\\,b x=1i", "invalid table name"),
    (b".hidden x=1i", "invalid table name"),
    (b"t,k\\,1=v x=1i", "invalid column name"),
    (b"t temp-c=1.5", "invalid column name"),
    (b"t a.b=1i", "invalid column name"),
    # forms QuestDB 9.3.4 refuses, measured by nox -s diff
    (b"t a=1i 5 ", "unexpected text after the timestamp"),
    (b"t a=1e999", "float out of range"),
    (b"t a=1e-400", "float out of range (too small)"),
    (b"t a=tru", "unknown value form"),
    (b"t a=1i,,b=2i", "empty field key"),
])
def test_lines_questdb_refuses_end_the_connection_like_a_malformed_line(stub, two_keys, line, what):
    """The rows before the line are kept, the connection is dropped there."""
    sock = authenticated(stub, two_keys, b"t ok=1i\n" + line + b"\nt ok=2i\n")
    assert closed_by_peer(sock)
    stub.wait_for_closed(1)
    assert [r["columns"]["ok"]["value"] for r in stub.events("row")] == [1]
    (error,) = stub.events("ilp_error")
    assert what in error["error"] and error["line"] == 2


def test_names_questdb_accepts(stub, two_keys):
    authenticated(stub, two_keys, "t.v2,room\\ name=a\\,b a\\=b=1i,température=2.5\n".encode()).close()
    (row,) = stub.wait_for_rows(1)
    assert row["table"] == "t.v2" and row["symbols"] == {"room name": "a,b"}


def test_rows_the_measured_ilp_rules_accept(stub, two_keys):
    """Forms QuestDB 9.3.4 accepts, measured by nox -s diff: booleans in any case, a signed float, an
    underscore in an integer, a LONG256, a raw CR inside a string (even as a line ends at the next CR),
    an escape in a field value, trailing commas, the first of two values, an n-suffixed timestamp."""
    authenticated(stub, two_keys, b't,a=x, b=tRUE,c=+1.5,d=1_000i,s="a\rb",e=\\1i 5n\r'
                                  b"u l=0x10i,l=2i,\n").close()
    first, second = stub.wait_for_rows(2)
    assert first["symbols"] == {"a": "x"}
    assert first["columns"] == {
        "b": {"type": "boolean", "value": True},
        "c": {"type": "float", "value": 1.5},
        "d": {"type": "integer", "value": 1000},
        "s": {"type": "string", "value": "a\rb"},
        "e": {"type": "integer", "value": 1},
    }
    assert first["timestamp"] == {"value": 5, "unit": "ns", "suffix": "n"}
    assert second["columns"] == {"l": {"type": "long256", "value": "0x10"}}
    assert second["timestamp"] is None


