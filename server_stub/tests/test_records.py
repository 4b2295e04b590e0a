"""The events contract in code (records.py) against the README's events table and a real stub's output."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
import wire

from server_stub import run_stub
from server_stub.records import RECORDS, EventsError, by_connection, by_peer, check, fields, read_events

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_table() -> dict[str, tuple[set[str], set[str]]]:
    text = README.read_text("utf-8")
    table = text[text.index("| event | fields | optional fields | meaning |"):].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:
        kind, required, optional = (cell.strip() for cell in line.strip("|").split("|")[:3])
        rows[kind.strip("`")] = (set(re.findall(r"`(\w+)`", required)), set(re.findall(r"`(\w+)`", optional)))
    return rows


def test_the_readme_table_lists_exactly_the_records_fields():
    assert _readme_table() == {kind: fields(record) for kind, record in RECORDS.items()}


def test_every_event_of_a_real_stub_is_a_record_and_groups_by_connection(two_keys, tmp_path):
    auth_db, jwks = two_keys
    path = tmp_path / "events.jsonl"
    with run_stub(auth_db, events_path=path) as stub:
        sock = wire.handshake(stub, "alice", lambda ch: wire.b64(wire.raw_signature(jwks["alice"], ch)),
                              after_signature=b"t x=1i\nt y=\n")
        host, port = sock.getsockname()[:2]
        local = f"{host}:{port}"
        assert wire.closed_by_peer(sock)  # the malformed second line ends the connection
        sock.close()
        with socket.create_connection((stub.host, stub.port)) as other:
            other.sendall(b"nobody\n")
            wire.read_line(other)
        stub.wait_for_closed(2)
    events = list(read_events(path))
    assert events[0]["event"] == "listening" and events[-1]["event"] == "stopped"
    conns = by_connection(events)
    first = by_peer(conns)[local]
    assert first.accepted and first.auth["encoding"] == "p1363"
    assert [r["columns"] for r in first.rows] == [{"x": {"type": "integer", "value": 1}}]
    assert first.ilp_errors[0]["line"] == 2 and first.close["cause"] == "ilp_error"
    second = conns[2]
    assert not second.accepted and second.auth["reason_code"] == "closed_before_signature" and second.rows == []


@pytest.mark.parametrize("line, message", [
    ('{"event": "auth", "conn": 1}', "auth event lacks accepted"),
    ('{"event": "row", "conn": 1, "table": "t", "symbols": {}, "columns": {}, "timestamp": null, "colour": 1}',
     "row event has unknown colour"),
    ('{"event": "hello"}', "unknown event kind 'hello'"),
    ("not json", "not JSON"),
])
def test_a_line_that_breaks_the_contract_names_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"event": "stopped"}) + "\n" + line + "\n")
    with pytest.raises(EventsError, match=f"{re.escape(str(path))}:2: .*{re.escape(message)}"):
        list(read_events(path))


def test_check_accepts_optional_fields():
    assert check({"event": "listening", "host": "h", "port": 1, "fault": "no-challenge"})["fault"] == "no-challenge"
