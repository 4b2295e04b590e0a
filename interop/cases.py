"""The negative matrix (negative_cases.toml): its schema, where every default of a case is written,
and its loader. The header of the file says what each key means; refsigner.py plays a case."""

from __future__ import annotations

from pathlib import Path

from server_stub.client import ALPHABETS, FORMS, MESSAGES

from .datafile import ABSENT, DataFileError, Key, Table, load_toml
from .paths import DEFAULT_KID, NEGATIVE_CASES

ENCODINGS = {"p1363", "der", "invalid"}  # what the stub's length rule chose (its auth event)


def _rows_expected(value) -> str | None:
    return None if value == "all" or (isinstance(value, int) and value >= 0) else "expected 'all' or a number of rows"


EXPECT = Table({
    "accepted": Key(bool),
    "reason_code": Key(str, ABSENT),  # the auth event's, for a rejection
    "encoding": Key(str, choices=ENCODINGS),
    "challenge": Key(bool),  # whether the server sends a challenge
    "rows": Key((int, str), 0, check=_rows_expected),  # rows recorded; "all": every row of the fixture
    "warning_code": Key(str, ABSENT),  # an acceptance only QuestDB's lenient verifier gives (warnings.toml)
}, rule=lambda e: None if e["accepted"] or "reason_code" in e else "a rejection names its reason_code")

CASE = Table({
    "id": Key(str),
    "what": Key(str),
    "expect": Key(dict, table=EXPECT),
    "kid": Key(str, DEFAULT_KID),  # the key id sent
    "key": Key(str, default_from="kid"),  # whose private key signs
    "signature": Key(str, "p1363", choices=set(FORMS)),  # the reference client's forms
    "message": Key(str, "challenge", choices=set(MESSAGES)),  # what is signed
    "base64": Key(str, "standard", choices=set(ALPHABETS)),
    "pad_to": Key(int, ABSENT),  # pad the base64 text with '=' to this many characters
    "key_id_end": Key(str, "\n"),
    "signature_end": Key(str, "\n"),
    "rows": Key(str, "after", choices={"after", "before", "none"}),  # in the signature's write, the key id's, or none
    "truncate_key_id": Key(bool, False),  # part of the key id, then close
}, label="id")


def _unique_ids(data: dict) -> str | None:
    ids = [case["id"] for case in data["case"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    return f"duplicate case ids: {', '.join(duplicates)}" if duplicates else None


FILE = Table({"case": Key(list, each=CASE)}, rule=_unique_ids)


def load_cases(path: Path = NEGATIVE_CASES) -> list[dict]:
    """Every case, checked, with its defaults filled in."""
    return load_toml(path, FILE, DataFileError)["case"]
