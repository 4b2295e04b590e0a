"""What the real QuestDB server does where it differs from a clean implementation, pinned against
the server itself, and the parity module's value comparison."""

from __future__ import annotations

import shutil

import pytest
from server_stub.keys import load_jwk

from interop.cases import load_cases
from interop.paths import AUTH_DB, KEYS
from interop.questdb import parity
from interop.questdb.launcher import QuestDBProcess
from interop.refsigner import run_case

NEEDS_QUESTDB = pytest.mark.skipif(shutil.which("java") is None or shutil.which("mvn") is None,
                                   reason="the real QuestDB server needs `java` (17+) and `mvn` on PATH")
JWKS = {kid: load_jwk(KEYS / f"{kid}.jwk.json") for kid in ("testUser1", "testUser2")}
CASES = {c["id"]: c for c in load_cases()}


@pytest.fixture(scope="module")
def questdb(tmp_path_factory):
    with QuestDBProcess(AUTH_DB, tmp_path_factory.mktemp("questdb-log")) as server:
        yield server


@NEEDS_QUESTDB
@pytest.mark.parametrize("case", ["url-safe-base64", "crlf-signature"])
def test_questdb_leaves_a_known_key_with_bad_base64_open(questdb, case):
    """server_stub/PROTOCOL.md section 4: the decode error escapes the handler, no close."""
    wire = run_case(questdb.host, questdb.ilp_port, JWKS, CASES[case], ["pinned x=1i"])
    assert wire.challenge_received and not wire.closed_by_server
    assert "invalid base64" in questdb.log_text()


@NEEDS_QUESTDB
def test_questdb_closes_an_unknown_key_id_with_bad_base64(questdb):
    unknown = dict(CASES["url-safe-base64"], kid="nobody", key="testUser1")
    assert run_case(questdb.host, questdb.ilp_port, JWKS, unknown, ["pinned x=1i"]).closed_by_server


@NEEDS_QUESTDB
def test_questdb_accepts_der_integers_without_their_sign_byte(questdb):
    """Java reads a DER INTEGER as an unsigned magnitude: r or s with its top bit set and no 0x00 sign
    byte verifies, and the rows are stored; the stub accepts it too, with a warning (server_stub/PROTOCOL.md section 1.3)."""
    case = CASES["der-unsigned"]
    for attempt in range(3):  # three fresh challenges, three signatures with a missing sign byte
        wire = run_case(questdb.host, questdb.ilp_port, JWKS, case, [f"der_unsigned attempt={attempt}i"])
        assert wire.challenge_received and not wire.closed_by_server
    assert questdb.wait_for_rows("der_unsigned", 3)["count"] == 3


@NEEDS_QUESTDB
def test_questdb_drops_the_connection_at_a_table_name_it_refuses(questdb):
    """ILP escapes the comma, QuestDB refuses the name and disconnects: the rows after it are lost."""
    case = CASES["padded-raw"]
    lines = ["names_before x=1i", "a\\,b x=1i", "names_after x=1i"]
    run_case(questdb.host, questdb.ilp_port, JWKS, case, lines)
    assert questdb.wait_for_rows("names_before", 1)["count"] == 1
    assert "invalid table name" in questdb.log_text()
    assert questdb.query("select count() from tables() where table_name = 'names_after'")["dataset"][0][0] == 0


class FakeQuestDB:
    """Answers `select * from 'T' limit 1` from a dict of stored rows."""

    def __init__(self, stored: dict):
        self.stored = stored

    def query(self, sql: str) -> dict:
        table = sql.split("'")[1]
        columns, row = self.stored[table]
        return {"columns": [{"name": n} for n in columns], "dataset": [row]}


def test_value_comparison_allows_the_documented_conversions_and_nothing_else():
    sent = [{"table": "t", "symbols": {"s": "a"}, "timestamp": {"value": 1_700_000_000_123_456_789, "unit": "ns"},
             "columns": {"min": {"type": "integer", "value": -(2**63)}, "nan": {"type": "float", "value": "NaN"},
                         "at": {"type": "timestamp", "value": 1_700_000_000_123_456, "unit": "us"},
                         "f": {"type": "float", "value": 1.5}}}]
    names = ["s", "min", "nan", "at", "f", "timestamp"]
    stored = ["a", None, None, "2023-11-14T22:13:20.123456Z", 1.5, "2023-11-14T22:13:20.123456Z"]
    assert parity._compare_values(FakeQuestDB({"t": (names, stored)}), sent) == []
    altered = list(stored)
    altered[4] = 1.25
    problems = parity._compare_values(FakeQuestDB({"t": (names, altered)}), sent)
    assert problems == ["t.f: 1.25, sent float 1.5"]


@NEEDS_QUESTDB
def test_a_connection_questdb_leaves_open_holds_a_place_under_its_connection_limit(tmp_path):
    """server_stub/PROTOCOL.md section 4: the client closes each connection QuestDB left open, yet the
    server keeps counting it (until its idle timeout), so a limit of 4 leaves no room for a fifth
    client; the connections it closes itself hold no place."""
    with QuestDBProcess(AUTH_DB, tmp_path, extra_conf={"line.tcp.net.connection.limit": "4"}) as server:
        for _ in range(4):  # unknown key ids with bad base64: closed by the server, no place held
            unknown = dict(CASES["url-safe-base64"], kid="nobody", key="testUser1")
            assert run_case(server.host, server.ilp_port, JWKS, unknown, ["pinned x=1i"]).closed_by_server
        assert run_case(server.host, server.ilp_port, JWKS, CASES["padded-raw"], ["room x=1i"]).challenge_received
        for _ in range(4):
            run_case(server.host, server.ilp_port, JWKS, CASES["url-safe-base64"], ["pinned x=1i"])  # left open
        try:  # the listener is unregistered at the limit: a connect waits in the backlog, or is refused
            room = run_case(server.host, server.ilp_port, JWKS, CASES["padded-raw"], ["no_room x=1i"]).challenge_received
        except ConnectionRefusedError:
            room = False
        assert not room
        assert "max connection limit reached" in server.log_text()
