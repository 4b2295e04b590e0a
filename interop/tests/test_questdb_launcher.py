"""The real QuestDB server through interop/questdb/launcher.py: one authenticated ILP handshake whose row
comes back over HTTP with QuestDB's types, and one wrong signature that the server closes without a row.

Needs `java` (17+) and `mvn`; the first run downloads the jar (about 30 MB) into ~/.m2.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from server_stub.client import ClientConnection, Handshake, Key, connect

from interop.questdb.launcher import QueryError, QuestDBError, QuestDBProcess, ensure_jar

pytestmark = pytest.mark.skipif(shutil.which("java") is None or shutil.which("mvn") is None,
                                reason="the QuestDB launcher needs `java` (17+) and `mvn` on PATH")

KEYS = Path(__file__).resolve().parents[1] / "keys"
AUTH_DB = KEYS / "auth.txt"
TIMEOUT = 10.0
CLOSE_WITHIN = 5.0
KEY = Key.load(KEYS / "testUser1.jwk.json")


def _handshake(host: str, port: int, how: Handshake) -> ClientConnection:
    """The reference client's handshake; the real server's challenge must be 512 printable bytes."""
    conn = connect(host, port, TIMEOUT)
    outcome = conn.handshake(KEY, how)
    assert outcome.problem is None, outcome.problem
    assert all(0x20 <= b <= 0x7E for b in outcome.challenge), outcome.challenge
    return conn


@pytest.fixture(scope="module")
def qdb(tmp_path_factory):
    with QuestDBProcess(AUTH_DB, tmp_path_factory.mktemp("questdb-log")) as server:
        yield server


@pytest.fixture(scope="module")
def observed(qdb):
    """Both handshakes on one server, the rejected one first, so the accepted row proves ingestion ran."""
    # a valid DER signature, but of a different message: the server must reject it
    wrong = Handshake(form="der", message=lambda challenge: challenge + b"!", rows=b"launcher_reject x=1i\n")
    with _handshake(qdb.host, qdb.ilp_port, wrong) as conn:
        rejected_closed = conn.server_closed(CLOSE_WITHIN)
    _handshake(qdb.host, qdb.ilp_port, Handshake(form="der", rows=b"launcher_check,s=a x=1i,y=2.5\n")).close()
    sent_at = datetime.now(UTC)
    return {"rejected_closed": rejected_closed, "rows": qdb.wait_for_rows("launcher_check", 1), "sent_at": sent_at}


def test_authenticated_row_comes_back_with_questdb_types(observed):
    result = observed["rows"]
    assert result["count"] == 1
    assert [(c["name"], c["type"]) for c in result["columns"]] == [
        ("s", "SYMBOL"), ("x", "LONG"), ("y", "DOUBLE"), ("timestamp", "TIMESTAMP")]
    s, x, y, ts = result["dataset"][0]
    assert (s, x, y) == ("a", 1, 2.5)
    server_clock = datetime.fromisoformat(ts)  # no timestamp sent: the server's clock
    assert abs((server_clock - observed["sent_at"]).total_seconds()) < 60


def test_wrong_signature_is_closed_and_writes_nothing(qdb, observed):
    assert observed["rejected_closed"], f"server left a wrongly signed connection open for {CLOSE_WITHIN} s"
    with pytest.raises(QueryError, match="table does not exist"):
        qdb.query("select * from 'launcher_reject'")
    assert "authentication failed, signature was not verified" in qdb.log_text()


def test_query_errors_carry_the_server_text(qdb):
    with pytest.raises(QueryError) as error:
        qdb.query("select * from 'launcher_no_such_table'")
    assert str(error.value) == "table does not exist [table=launcher_no_such_table]"
    start = time.monotonic()
    with pytest.raises(QuestDBError, match="has 0 rows after 0.3 s, expected 1"):
        qdb.wait_for_rows("launcher_no_such_table", 1, timeout=0.3)
    assert time.monotonic() - start < 5


def test_missing_tools_fail_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(QuestDBError) as error:
        QuestDBProcess(AUTH_DB, tmp_path / "log").__enter__()
    assert str(error.value).startswith("`java` not found on PATH") and "\n" not in str(error.value)
    with pytest.raises(QuestDBError) as error:
        ensure_jar("0.0.0-not-a-version")
    assert str(error.value).startswith("`mvn` not found on PATH") and "\n" not in str(error.value)


def test_unreachable_maven_fails_with_one_line(tmp_path, monkeypatch):
    fake = tmp_path / "mvn"  # what Maven 3.8 prints when no repository answers (colour codes included)
    fake.write_text("#!/bin/sh\nprintf '\\033[0m\\033[0m[ERROR] Plugin org.apache.maven.plugins:maven-dependency-"
                    "plugin:2.8 or one of its dependencies could not be resolved: Could not transfer artifact: "
                    "Connection refused -> [Help 1]\\n[ERROR] \\n[ERROR] To see the full stack trace...\\n'\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(QuestDBError) as error:
        ensure_jar("0.0.0-not-a-version")
    message = str(error.value)
    assert "\n" not in message and "\x1b" not in message and "[Help" not in message
    assert message.startswith("cannot fetch org.questdb:questdb:0.0.0-not-a-version with Maven (Maven Central")
    assert message.endswith("Could not transfer artifact: Connection refused")


def test_malformed_auth_file_stops_startup_with_the_server_reason(tmp_path):
    auth = tmp_path / "auth.txt"
    auth.write_text("testUser1 ec-p-256-sha256 fLKYEaoEb9lrn3nkwLDA-M_xnuFOdSt9y0Z7_vWSHLU\n")
    with pytest.raises(QuestDBError) as error, QuestDBProcess(auth, tmp_path / "log"):
        pass
    message = str(error.value)
    assert "\n" not in message
    assert "failed to read auth db file" in message and "at line 1" in message
    assert "Was expecting 4 tokens" in message and str(auth) in message
    assert (tmp_path / "log" / "questdb.stderr.log").is_file() and (tmp_path / "log" / "server.conf").is_file()
