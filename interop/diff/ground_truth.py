"""The recorded ground truth: QuestDB's outcome for a fixed-seed set of cases, replayed against the
stub without QuestDB (the test command does, interop/tests/test_diff_replay.py).

The file (ground_truth.jsonl) is JSON lines: first a header naming how the cases were generated
and what recorded them, then one line per case: its id, class and mutation, and QuestDB's outcome
(observe.py). The cases themselves are not stored: the generators make them again from the header's
seed and counts, and a case whose class or mutation no longer matches is an error (a generator
changed: record again with `nox -s diff -- --record`). Cases with a line longer than MAX_LINE are
left out, to keep the file small (they exercise the stub's line limit, a deviation), and so are
cases whose outcome changed between two plays.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..datafile import DataFileError
from .case import Case
from .engine import REPLAY_ID_BASE
from .generators import generate

PATH = Path(__file__).with_name("ground_truth.jsonl")
RECORD_SEED = 1
RECORD_HANDSHAKES = 1500
RECORD_ILP = 1500
MAX_LINE = 4096
HEADER_KEYS = {"seed", "handshakes", "ilp", "questdb", "command"}
CASE_KEYS = {"id", "class", "mutation", "questdb"}


class GroundTruthError(DataFileError):
    pass


def write(path: Path, header: dict, results: list) -> int:
    """The cases of a run (not its replays), except those with a line over MAX_LINE and those whose
    first play disagreed and whose replay agreed: an outcome that changed between plays is not truth."""
    kept = [r for r in results if r.case.id < REPLAY_ID_BASE and all(len(x) <= MAX_LINE for x in r.case.lines)
            and not (r.differences and r.replay == [])]
    with path.open("w") as out:
        out.write(json.dumps(header, sort_keys=True) + "\n")
        for r in kept:
            out.write(json.dumps({"id": r.case.id, "class": r.case.cls, "mutation": r.case.mutation,
                                  "questdb": r.questdb}, sort_keys=True) + "\n")
    return len(kept)


def load(path: Path = PATH) -> tuple[dict, list[tuple[Case, dict]]]:
    """The header and [(case, QuestDB's outcome)], the cases made again by the generators."""
    lines = path.read_text("utf-8").splitlines()
    if not lines:
        raise GroundTruthError(f"{path}: empty")
    header = _record(path, 1, lines[0], HEADER_KEYS)
    cases = {c.id: c for c in generate(header["handshakes"], header["ilp"], header["seed"])}
    out = []
    for number, line in enumerate(lines[1:], 2):
        entry = _record(path, number, line, CASE_KEYS)
        case = cases.get(entry["id"])
        if case is None or (case.cls, case.mutation) != (entry["class"], entry["mutation"]):
            made = "no case" if case is None else f"{case.cls} {case.mutation!r}"
            raise GroundTruthError(f"{path}: line {number}: case {entry['id']} was {entry['class']} "
                                   f"{entry['mutation']!r} when recorded, the generators now make {made}; "
                                   f"record again: nox -s diff -- --record")
        out.append((case, entry["questdb"]))
    return header, out


def _record(path: Path, number: int, line: str, keys: set[str]) -> dict:
    try:
        entry = json.loads(line)
    except ValueError as error:
        raise GroundTruthError(f"{path}: line {number}: not JSON: {error}") from None
    if not isinstance(entry, dict) or set(entry) != keys:
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise GroundTruthError(f"{path}: line {number}: expected the keys {sorted(keys)}, found {found}")
    return entry
