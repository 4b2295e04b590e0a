"""The recorded ground truth: QuestDB's outcome for a fixed-seed set of cases, replayed against the
stub without QuestDB (the test command does: interop/tests/test_diff.py).

The file (ground_truth.jsonl) is JSON lines: first a header naming how the cases were generated
and what recorded them, then one line per case: its id, class, mutation and digest, and QuestDB's
outcome (observe.py). The cases themselves are not stored: the generators make them again from the
header's seed and counts, and a case whose class, mutation or digest (of its JSON) no longer
matches is an error, as is a change to the signature recipes' source (record again:
`nox -s diff -- --record`). Flaky cases (an outcome that changed between two plays) are left out;
long values are stored as their length and hash (observe.py), so the file stays small even with
lines of 256 KiB.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..datafile import DataFileError, Key, Table, check, entry_name
from . import signatures
from .case import Case
from .engine import REPLAY_ID_BASE
from .generators import generate

PATH = Path(__file__).with_name("ground_truth.jsonl")
RECORD_SEED = 1
RECORD_HANDSHAKES = 1500
RECORD_ILP = 2700
HEADER = Table({"seed": Key(int), "handshakes": Key(int), "ilp": Key(int), "questdb": Key(str), "command": Key(str),
                "recipes": Key(str)})
CASE = Table({"id": Key(int), "class": Key(str), "mutation": Key(str), "case": Key(str), "questdb": Key(dict)},
             label="mutation")
RECIPES_SOURCE = Path(signatures.__file__)  # the recipes run at play time: their code is the case too


def digest(data: bytes | dict) -> str:
    text = data if isinstance(data, bytes) else json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(text).hexdigest()[:16]


class GroundTruthError(DataFileError):
    pass


def write(path: Path, header: dict, results: list) -> int:
    """The cases of a run (not its replays), except flaky ones: an outcome that changed between plays
    is not truth."""
    kept = [r for r in results if r.case.id < REPLAY_ID_BASE and r.verdict != "flaky"]
    with path.open("w") as out:
        out.write(json.dumps({**header, "recipes": digest(RECIPES_SOURCE.read_bytes())}, sort_keys=True) + "\n")
        for r in kept:
            out.write(json.dumps({"id": r.case.id, "class": r.case.cls, "mutation": r.case.mutation,
                                  "case": digest(r.case.as_json()), "questdb": r.questdb}, sort_keys=True) + "\n")
    return len(kept)


def load(path: Path = PATH) -> tuple[dict, list[tuple[Case, dict]]]:
    """The header and [(case, QuestDB's outcome)], the cases made again by the generators."""
    lines = path.read_text("utf-8").splitlines()
    if not lines:
        raise GroundTruthError(f"{path}: empty")
    header = _record(path, 1, lines[0], HEADER)
    if header["recipes"] != digest(RECIPES_SOURCE.read_bytes()):
        raise GroundTruthError(f"{path}: the signature recipes ({RECIPES_SOURCE.name}) changed since it was "
                               "recorded; record again: nox -s diff -- --record")
    cases = {c.id: c for c in generate(header["handshakes"], header["ilp"], header["seed"])}
    out = []
    for number, line in enumerate(lines[1:], 2):
        entry = _record(path, number, line, CASE)
        case = cases.get(entry["id"])
        if case is None or (case.cls, case.mutation, digest(case.as_json())) != (
                entry["class"], entry["mutation"], entry["case"]):
            made = "no case" if case is None else f"{case.cls} {case.mutation!r}"
            raise GroundTruthError(f"{path}: line {number}: case {entry['id']} was {entry['class']} "
                                   f"{entry['mutation']!r} (digest {entry['case']}) when recorded, the generators "
                                   f"now make {made}{'' if case is None else ' (digest ' + digest(case.as_json()) + ')'}; "
                                   f"record again: nox -s diff -- --record")
        out.append((case, entry["questdb"]))
    return header, out


def _record(path: Path, number: int, line: str, schema: Table) -> dict:
    try:
        entry = json.loads(line)
    except ValueError as error:
        raise GroundTruthError(f"{path}: line {number}: not JSON: {error}") from None
    return check(entry, schema, path, [entry_name("line", number, entry, schema.label)], GroundTruthError)
