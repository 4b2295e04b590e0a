"""The differential engine's pieces, and the recorded ground truth replayed against the stub: every
generator class must still give QuestDB's recorded outcome (a regression test per class)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from interop.diff import ground_truth
from interop.diff.case import Case
from interop.diff.compare import differences, verdict
from interop.diff.engine import Result, Servers, renumber
from interop.diff.generators import CLASSES, generate
from interop.diff.main import replay
from interop.questdb.launcher import QuestDBError
from interop.questdb.parity import ticks_of_iso


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    return replay(ground_truth.PATH, tmp_path_factory.mktemp("diff-replay"))


@pytest.mark.parametrize("cls", list(CLASSES))
def test_the_stub_gives_questdbs_recorded_outcome(replayed, cls):
    mine = [r for r in replayed if r.case.cls == cls]
    assert mine, f"class {cls} has no case in {ground_truth.PATH.name}: record again (nox -s diff -- --record)"
    wrong = [r for r in mine if r.verdict == "disagree"]
    assert not wrong, "\n".join(
        f"case {r.case.id} {r.case.mutation!r} {r.case.lines}: " + "; ".join(r.differences) for r in wrong[:10])


def test_only_the_line_limit_deviates_and_it_does(replayed):
    deviations = {d["deviation"] for r in replayed if r.verdict == "deviation" for d in r.stub["deviations"]}
    assert deviations == {"line_limit"}  # the recorded lines of 131,073 bytes and more


def test_the_ground_truth_names_its_generation():
    header, recorded = ground_truth.load()
    assert (header["seed"], header["handshakes"], header["ilp"]) == (
        ground_truth.RECORD_SEED, ground_truth.RECORD_HANDSHAKES, ground_truth.RECORD_ILP)
    assert len(recorded) >= 2500 and header["questdb"]


@pytest.mark.parametrize("key, value", [("mutation", "something else"), ("case", "0" * 16)])
def test_a_changed_generator_is_reported(tmp_path, key, value):
    lines = ground_truth.PATH.read_text().splitlines()
    entry = json.loads(lines[1])
    entry[key] = value
    path = tmp_path / "truth.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(entry)]) + "\n")
    with pytest.raises(ground_truth.GroundTruthError, match="record again"):
        ground_truth.load(path)


def test_changed_recipes_are_reported(tmp_path):
    lines = ground_truth.PATH.read_text().splitlines()
    header = json.loads(lines[0])
    path = tmp_path / "truth.jsonl"
    path.write_text("\n".join([json.dumps({**header, "recipes": "0" * 16}), lines[1]]) + "\n")
    with pytest.raises(ground_truth.GroundTruthError, match="recipes .* changed"):
        ground_truth.load(path)


def test_generation_is_reproducible_from_the_seed():
    first = [c.as_json() for c in generate(60, 60, seed=7)]
    assert first == [c.as_json() for c in generate(60, 60, seed=7)]
    assert first != [c.as_json() for c in generate(60, 60, seed=8)]
    assert {c["class"] for c in first} == set(CLASSES)  # every class represented


def test_a_case_round_trips_through_json():
    for case in generate(30, 60, seed=3):
        assert Case.from_json(json.loads(json.dumps(case.as_json()))) == case


def test_renumber_renames_the_table_and_the_probe_only():
    case = next(c for c in generate(0, 20, seed=1) if c.cls == "IlpSchema")
    again = renumber(case, 123456)
    sent = b"".join(a for s in again.scripts for a in s.after)
    assert b"c123456" in sent and f"c{case.id} ".encode() not in sent and f"c{case.id},".encode() not in sent
    assert again.lines == tuple(line.replace(f"c{case.id}".encode(), b"c123456") for line in case.lines)


def test_timestamps_past_year_9999_and_before_1970_are_read():
    assert ticks_of_iso("294247-01-10T04:00:54.775807Z", 6) == 2**63 - 1
    assert ticks_of_iso("1969-12-31T23:59:59.999999Z", 6) == -1
    assert ticks_of_iso("2023-11-14T22:13:20.000000001Z", 9) == 1_700_000_000_000_000_001


def _outcome(rows, **extra):
    return {"conns": [{"challenge": True, "closed": False}], "alive": 1,
            "tables": {"c1": {"schema": {"v": "LONG"}, "rows": rows}}, **extra}


def test_true_is_not_one_and_empty_tables_are_not_compared():
    assert differences(_outcome([{"v": 1}]), _outcome([{"v": True}]))
    assert differences(_outcome([{"v": 1.0}]), _outcome([{"v": 1}]))
    empty = {"conns": [{"challenge": True, "closed": True}], "alive": 0, "tables": {}}
    assert not differences({**empty, "tables": {"c1": {"schema": {"a": "LONG"}, "rows": []}}}, empty)


def test_a_difference_the_stub_marks_as_its_deviation_is_a_deviation():
    line_limit = [{"connection": 1, "deviation": "line_limit"}]
    assert verdict(_outcome([{"v": 1}]), _outcome([], deviations=line_limit)) == "deviation"
    assert verdict(_outcome([{"v": 1}]), _outcome([])) == "disagree"
    assert verdict(_outcome([{"v": 1}]), _outcome([{"v": 1}])) == "agree"


def test_a_deviation_excuses_only_what_it_explains():
    line_limit = [{"connection": 2, "deviation": "line_limit"}]
    stub = _outcome([], deviations=line_limit)
    stub["conns"] = [{"challenge": False, "closed": True}]  # connection 1 differs: not the limit's doing
    assert verdict(_outcome([{"v": 1}]), stub) == "disagree"


def test_a_questdb_that_died_stops_the_run_with_its_log(tmp_path):
    servers = Servers(tmp_path, questdb=True)
    servers.questdb.proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    servers.questdb.proc.wait()
    servers.questdb.stdout_path.parent.mkdir(parents=True, exist_ok=True)
    servers.questdb.stdout_path.write_text("E i.q.c.l.t.LineTcpReceiver the last words\n")
    with pytest.raises(QuestDBError, match="(?s)died mid-run .exit code 3.*the last words"):
        servers.on_questdb(generate(1, 0, seed=1))


def test_a_column_made_by_a_refused_row_is_not_compared_but_one_with_values_is():
    questdb = _outcome([{"v": 1}])
    questdb["tables"]["c1"]["schema"] = {"v": "LONG", "z": "DOUBLE"}  # z: from a refused row, no value
    assert not differences(questdb, _outcome([{"v": 1}]))
    questdb["tables"]["c1"]["rows"] = [{"v": 1, "z": 1.5}]
    assert differences(questdb, _outcome([{"v": 1}]))


class _LineJudgedServers(Servers):
    """Servers whose QuestDB "refuses" every line holding b"bad" while the stub stores all: the
    minimiser's rounds, without servers."""

    plays = 0

    def on_questdb(self, cases):
        self.plays += len(cases)
        return {c.id: {"conns": [], "alive": int(b"bad" not in c.lines[0]), "tables": {}} for c in cases}

    def on_stub(self, cases):
        return {c.id: {"conns": [], "alive": 1, "tables": {}} for c in cases}


def test_the_minimiser_finds_the_shortest_line_that_still_disagrees(tmp_path):
    servers = _LineJudgedServers(tmp_path, questdb=False)
    case = next(c for c in generate(0, 40, seed=1) if c.cls == "IlpStrings")
    case = renumber(case, case.id, (b"c%d a=1i,v=bad,z=2i 1700000000000000000\n" % case.id,))
    result = Result(case, servers.on_questdb([case])[case.id], servers.on_stub([case])[case.id], ["probe rows"],
                    replay=["probe rows"])
    assert result.verdict == "disagree"
    servers.minimise([result], limit=5)
    assert result.minimised == (b"c%dbad\n" % case.id,) and servers.plays < 200
