"""The harness's shared core: the process runner (timeout, process group, description), the report
writer, and QuestDB's row polling (against a fake server: the real one is in test_questdb_*.py)."""

from __future__ import annotations

import os
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from interop.paths import AUTH_DB
from interop.process import Finished, run
from interop.questdb import launcher
from interop.questdb.launcher import QueryError, QuestDBError, QuestDBProcess
from interop.report import JUnitCase, markdown_table, summary_line, table, write_junit, write_markdown


def test_a_run_that_ends_is_described_with_its_exit_code_and_output_tails(tmp_path):
    done = run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
               tmp_path, 30)
    assert (done.exit_code, done.stdout, done.stderr, done.ok) == (3, "out\n", "err\n", False)
    assert done.describe().startswith(f"$ {sys.executable} -c import sys;")
    assert "\nexit 3 after " in done.describe() and done.describe().endswith("stdout:\nout\nstderr:\nerr")


def test_a_timeout_kills_the_whole_process_group(tmp_path):
    started = time.monotonic()
    done = run(["bash", "-c", "sleep 60 & echo $!; wait"], tmp_path, 0.5)
    assert done.exit_code is None and time.monotonic() - started < 10
    assert done.status == "killed after 0.5 s (timeout)"
    child = int(done.stdout.split()[0])  # the background sleep, a grandchild of ours
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the grandchild {child} outlived the timeout")


def test_a_command_that_cannot_start_exits_127(tmp_path):
    done = run(["no-such-command-here"], tmp_path, 5)
    assert done.exit_code == 127 and done.stderr.startswith("cannot run no-such-command-here:")


def test_the_status_says_how_a_run_ended():
    assert Finished(["x"], None, "", "", 9.2, 9).status == "killed after 9 s (timeout)"
    assert Finished(["x"], 0, "", "", 0.1, 9).status == "exit 0"


def test_tables_markdown_junit_and_the_summary_line(tmp_path):
    assert table(["a", "bb"], [["xyz", "1"]]) == "a    bb\n---  --\nxyz  1"
    assert table(["a", "bb"], [["xyz", "1"]], rule=False) == "a    bb\nxyz  1"
    assert markdown_table(["h"], [["a|b\nc"]]) == "| h |\n|---|\n| a\\|b c |"
    write_markdown(tmp_path / "r.md", "Title", "summary", ["## Part", "text"])
    assert (tmp_path / "r.md").read_text() == "# Title\n\nsummary\n\n## Part\n\ntext\n"
    write_junit(tmp_path / "j.xml", "suite", [JUnitCase("ok", "c", 0.5), JUnitCase("bad", "c", failure="why", details="all"),
                                              JUnitCase("skip", "c", skipped="not here")])
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("suite", "3", "1")
    assert [c.get("time") for c in suite] == ["0.500", None, None]
    assert suite[1][0].get("message") == "why" and suite[1][0].text == "all" and suite[2][0].tag == "skipped"
    assert summary_line("interop", 100, 0) == "interop: 100 passed, 0 failed"


class _Counting:
    """A QuestDB whose tables grow by `step` rows a query until `final`; `missing` tables do not exist."""

    def __init__(self, final: int, step: int = 2, missing=()):
        self.final, self.step, self.missing, self.seen = final, step, set(missing), 0

    def __call__(self, sql: str) -> dict:
        table = sql.split("'")[1]
        if table in self.missing:
            raise QueryError(f"table does not exist [table={table}]", sql)
        self.seen = min(self.final, self.seen + self.step)
        if sql.startswith('select "'):
            return {"dataset": [["a", self.seen], ["b", 1]]}
        if sql.startswith("select count()"):
            return {"dataset": [[self.seen]]}
        return {"dataset": [[1]] * self.seen, "count": self.seen}


@pytest.fixture
def fake_questdb(monkeypatch):
    monkeypatch.setattr(launcher, "SETTLED_AFTER", 0.2)
    qdb = QuestDBProcess(AUTH_DB, "unused-log-dir")

    def serve(server: _Counting) -> QuestDBProcess:
        monkeypatch.setattr(qdb, "query", server)
        return qdb

    return serve


def test_counts_wait_for_a_target(fake_questdb):
    qdb = fake_questdb(_Counting(final=10))
    assert qdb.wait_for_counts(["t"], at_least=6, interval=0.01) == {"t": 6}
    assert qdb.wait_for_rows("t", 8)["count"] >= 8


def test_counts_wait_until_they_stop_changing(fake_questdb):
    qdb = fake_questdb(_Counting(final=7))
    started = time.monotonic()
    assert qdb.wait_for_counts(["t"], interval=0.01) == {"t": 7}
    assert time.monotonic() - started >= 0.2
    assert fake_questdb(_Counting(final=3)).wait_for_counts(["t"], by="case", interval=0.01) == {"a": 3, "b": 1}


def test_a_table_not_created_yet_counts_zero_and_too_few_rows_fail(fake_questdb):
    qdb = fake_questdb(_Counting(final=5, missing={"later"}))
    assert qdb.wait_for_counts(["later"], interval=0.01) == {"later": 0}
    assert qdb.counts("later", by="case") == {}
    with pytest.raises(QuestDBError, match="table 'later' has 0 rows after 0.2 s, expected 1"):
        qdb.wait_for_rows("later", 1, timeout=0.2)
