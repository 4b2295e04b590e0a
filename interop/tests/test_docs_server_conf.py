"""The server.conf check judged by the pinned QuestDB jar (interop/docs/checks/server_keys.py): real keys are
known, deprecated and obsolete keys are named with what replaced them, Enterprise keys are notes, a value the
server cannot parse fails, and without Java or the jar the check says SKIPPED with the reason. The last test
starts the real server to show that it does what the check says.

Needs a JDK (`java`, `javac`); the real-server test also needs `mvn` (the launcher's jar). Each block's
answer is cached under build/docs/conf_keys/, so a second run does not start a JVM.
"""

from __future__ import annotations

import shutil

import pytest

from interop.docs.checks import check_server_conf, server_keys
from interop.docs.data import conf_keys
from interop.paths import AUTH_DB

HAVE_JDK = bool(shutil.which("java") and shutil.which("javac"))
needs_jdk = pytest.mark.usefixtures("jdk")


@pytest.fixture
def jdk():
    """Every machine of this project has a JDK: its absence is a failure that says so, not a skip."""
    if not HAVE_JDK:
        pytest.fail("no java/javac on PATH: the server.conf check reads QuestDB's rules with a JDK (install Java 17)")
AUTH = "line.tcp.auth.db.path=/etc/questdb/auth.txt\n"


def _notes_about(result, key: str) -> list[str]:
    return [note for note in result.notes if f" {key} " in note or f" {key}=" in note]


@needs_jdk
def test_a_real_key_is_known_and_read_as_the_server_reads_it():
    assert "line.http.enabled" in server_keys.rules().keys
    result = check_server_conf(AUTH + "line.http.enabled=true\nline.tcp.io.worker.count=2\n")
    assert result.verdict == "PASS", result.evidence
    assert "line 2: line.http.enabled=true: whether ILP over HTTP" in result.evidence
    assert "line 3: line.tcp.io.worker.count=2: read as int" in result.evidence  # no meaning in the data: the jar's kind
    assert _notes_about(result, "line.http.enabled") == _notes_about(result, "line.tcp.io.worker.count") == []


@needs_jdk
def test_a_deprecated_key_is_named_with_its_replacement():
    result = check_server_conf(AUTH + "line.tcp.net.active.connection.limit=10\n")
    assert result.verdict == "PASS", result.evidence
    (note,) = _notes_about(result, "line.tcp.net.active.connection.limit")
    assert "is deprecated in QuestDB" in note and "Replaced by `line.tcp.net.connection.limit`" in note
    assert "still reads it" in note


@needs_jdk
def test_an_obsolete_key_is_named_and_fails_only_under_strict_validation():
    result = check_server_conf(AUTH + "line.tcp.commit.timeout=1000\n")
    assert result.verdict == "PASS", result.evidence
    (note,) = _notes_about(result, "line.tcp.commit.timeout")
    assert "is obsolete" in note and "`line.tcp.commit.interval.default`" in note and "starts without it" in note
    strict = check_server_conf("config.validation.strict=true\n" + AUTH + "line.tcp.commit.timeout=1000\n")
    assert strict.verdict == "FAILS TO RUN"
    assert strict.evidence.splitlines()[0] == ("config.validation.strict=true (line 1): QuestDB "
                                               f"{server_keys.rules().version} refuses to start because of "
                                               "line.tcp.commit.timeout (line 3)")


@needs_jdk
def test_an_enterprise_key_is_a_note_not_a_failure():
    result = check_server_conf(AUTH + "line.tcp.tls.enabled=true\n")
    assert result.verdict == "PASS", result.evidence
    (note,) = _notes_about(result, "line.tcp.tls.enabled")
    assert "not known to the open-source server; QuestDB Enterprise reads it" in note
    assert "https://questdb.com/docs/configuration/tls/" in note


@needs_jdk
def test_a_typo_is_a_note_with_the_closest_key_since_the_server_starts_anyway():
    result = check_server_conf(AUTH + "line.tcp.net.conection.limit=10\n")
    assert result.verdict == "PASS", result.evidence
    assert "it ignores 1 key(s)" in result.evidence.splitlines()[0]
    (note,) = _notes_about(result, "line.tcp.net.conection.limit")
    assert "is not a key of QuestDB" in note and "the closest key is line.tcp.net.connection.limit" in note


@needs_jdk
def test_a_bad_value_fails_with_the_servers_message_and_a_bad_boolean_is_a_note():
    result = check_server_conf(AUTH + "line.tcp.net.connection.rcvbuf=1x\n")
    assert result.verdict == "FAILS TO RUN"
    assert result.evidence.splitlines()[0].endswith(
        "refuses to start: invalid configuration value [key=line.tcp.net.connection.rcvbuf, value=1x]")
    assert result.evidence.startswith("line 2: line.tcp.net.connection.rcvbuf=1x")
    boolean = check_server_conf(AUTH + "line.tcp.disconnect.on.error=yes\n")
    assert boolean.verdict == "PASS"
    assert _notes_about(boolean, "line.tcp.disconnect.on.error") == [
        "line 2: line.tcp.disconnect.on.error=yes: QuestDB reads any value but 'true' as false"]


@needs_jdk
def test_an_absolute_auth_file_path_is_joined_to_the_root_and_said_so():
    (note,) = [n for n in check_server_conf(AUTH).notes if n.startswith("line 1: ")]
    assert note == ("line 1: /etc/questdb/auth.txt is absolute, but QuestDB joins it to its root folder all the same: "
                    "it reads e.g. /var/lib/questdb/etc/questdb/auth.txt, and refuses to start when that file is missing")


@needs_jdk
def test_a_database_folder_elsewhere_is_not_created(tmp_path):
    folder = tmp_path / "elsewhere" / "db"
    result = check_server_conf(AUTH + f"cairo.root={folder}\n")
    assert result.verdict == "PASS", result.evidence
    assert not folder.exists()
    expected = f"cairo.root={folder} -> a folder in the check's temporary root (building QuestDB's configuration creates it)"
    assert result.substitutions == [expected]


@needs_jdk
def test_the_data_names_real_keys_and_enterprise_prefixes_the_jar_does_not_know():
    rules, data = server_keys.rules(), conf_keys()
    assert sorted(set(data["keys"]) - rules.keys) == []
    prefixes = [prefix for entry in data["enterprise"] for prefix in entry["prefixes"]]
    assert [key for key in rules.keys if key.startswith(tuple(prefixes))] == []


@pytest.fixture
def fresh_rules():
    server_keys._helper.cache_clear()
    server_keys.rules.cache_clear()
    yield
    server_keys._helper.cache_clear()
    server_keys.rules.cache_clear()


def test_without_java_the_check_is_skipped_with_the_reason(monkeypatch, fresh_rules):
    monkeypatch.setattr(server_keys.shutil, "which", lambda name: None)
    result = check_server_conf(AUTH)
    assert result.verdict == "SKIPPED"
    assert result.evidence == ("cannot read QuestDB's server.conf rules from its jar: `java` not found on PATH: the "
                               "server.conf check reads QuestDB's rules from its jar with a JDK 17+")


@needs_jdk
def test_without_the_jar_the_check_is_skipped_with_the_reason(monkeypatch, fresh_rules):
    from interop.questdb import launcher

    def unreachable(version=None):
        raise launcher.QuestDBError("cannot fetch org.questdb:questdb:9.3.4 with Maven (Maven Central unreachable)")

    monkeypatch.setattr(launcher, "ensure_jar", unreachable)
    result = check_server_conf(AUTH)
    assert result.verdict == "SKIPPED"
    assert "jar: cannot fetch org.questdb:questdb:9.3.4 with Maven" in result.evidence


@pytest.mark.skipif(not (HAVE_JDK and shutil.which("mvn")), reason="the QuestDB launcher needs java and mvn")
def test_the_real_server_does_what_the_check_says(tmp_path):
    """Slow (three server starts): ignored keys are logged and the server starts; a bad value stops it; an
    absolute auth file path is read under the root."""
    from interop.questdb.launcher import QuestDBError, QuestDBProcess

    ignored = {"line.tcp.tls.enabled": "true", "line.tcp.commit.timeout": "1000", "line.tcp.net.conection.limit": "1"}
    assert check_server_conf(AUTH + "".join(f"{k}={v}\n" for k, v in ignored.items())).verdict == "PASS"
    with QuestDBProcess(AUTH_DB, tmp_path / "ignored", extra_conf=ignored) as qdb:
        log = qdb.log_text()
    assert "Invalid settings (not recognized, probable typos)" in log and "Obsolete settings" in log
    assert all(f"* {key}" in log for key in ignored)

    bad = {"line.tcp.net.connection.limit": "ten"}
    checked = check_server_conf(AUTH + "line.tcp.net.connection.limit=ten\n")
    assert checked.verdict == "FAILS TO RUN"
    message = checked.evidence.splitlines()[0].split("refuses to start: ")[1]
    with pytest.raises(QuestDBError) as refused:
        QuestDBProcess(AUTH_DB, tmp_path / "bad", extra_conf=bad).start()
    assert message in str(refused.value) and "exited with code 55" in str(refused.value)

    absolute = {"line.tcp.auth.db.path": str(AUTH_DB)}
    assert "is absolute, but QuestDB joins it to its root folder" in " ".join(
        check_server_conf(f"line.tcp.auth.db.path={AUTH_DB}\n").notes)
    with pytest.raises(QuestDBError) as joined:
        QuestDBProcess(AUTH_DB, tmp_path / "absolute", extra_conf=absolute).start()
    assert "failed to read auth db file /" in str(joined.value) and f"{AUTH_DB} at line" in str(joined.value)
    assert f"auth db file {AUTH_DB} " not in str(joined.value)  # the root comes first


@needs_jdk
def test_a_block_not_about_authentication_needs_no_auth_file_but_an_auth_block_does():
    http_only = "line.http.enabled=true\n"
    assert check_server_conf(http_only, about_auth=False).verdict == "PASS"
    assert any("not about authentication" in note for note in check_server_conf(http_only, about_auth=False).notes)
    assert check_server_conf(http_only, about_auth=True).verdict == "FAILS TO RUN"
    # a misspelt auth key makes the block about authentication, whatever its heading
    assert check_server_conf("line.tcp.auth.db.pth=conf/auth.txt\n", about_auth=False).verdict == "FAILS TO RUN"
