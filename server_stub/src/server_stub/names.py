"""QuestDB's rules for table and column names, which it applies to every ILP row it ingests.

A row whose table or column name breaks them is refused like a malformed line: the real server
logs "invalid table name" / "invalid column name" and disconnects, losing the rows after it. ILP
itself can escape any of these characters; QuestDB still refuses them. (Facts from QuestDB's
TableUtils.isValidTableName / isValidColumnName, confirmed against the server by `nox -s questdb`.)
"""

from __future__ import annotations

from functools import lru_cache

from .ilp import IlpLineError

MAX_NAME_CHARS = 255  # file systems' limit on a file name, which QuestDB applies to names
# Refused in both kinds of names: control characters 0x00-0x0f, DEL and the byte-order mark.
_CONTROL = {chr(c) for c in range(0x10)} | {"\x7f", "\ufeff"}
_TABLE_REFUSED = set("?,'\"\\/:)(+*%~") | _CONTROL
_COLUMN_REFUSED = _TABLE_REFUSED | {".", "-"}


# Rows repeat the same few names: remember each verdict (the profile of `nox -s bench` showed the
# checks at about 12% of the stub's time per row).
@lru_cache(maxsize=4096)
def table_name_problem(name: str) -> str | None:
    """Why QuestDB refuses this table name, or None."""
    if not name or len(name) > MAX_NAME_CHARS:
        return f"a table name has 1 to {MAX_NAME_CHARS} characters"
    bad = next((c for c in name if c in _TABLE_REFUSED), None)
    if bad is not None:
        return f"{bad!r} is not allowed in a table name"
    if name[0] == " " or name[-1] == " ":
        return "a table name cannot start or end with a space"
    if name[0] == "." or name[-1] == "." or ".." in name:
        return "a '.' in a table name must stand alone, between other characters"
    return None


@lru_cache(maxsize=4096)
def column_name_problem(name: str) -> str | None:
    """Why QuestDB refuses this column (tag or field) name, or None."""
    if not name or len(name) > MAX_NAME_CHARS:
        return f"a column name has 1 to {MAX_NAME_CHARS} characters"
    bad = next((c for c in name if c in _COLUMN_REFUSED), None)
    return None if bad is None else f"{bad!r} is not allowed in a column name"


def check_row(row: dict, line: bytes | None = None) -> None:
    """IlpLineError when QuestDB would refuse the row's table or column names (`line`, the row's text,
    is not needed: the argument IlpStream's check_row gets)."""
    problem = table_name_problem(row["table"])
    if problem:
        raise IlpLineError(f"invalid table name {row['table']!r}: {problem}")
    for name in (*row["symbols"], *row["columns"]):
        problem = column_name_problem(name)
        if problem:
            raise IlpLineError(f"invalid column name {name!r}: {problem}")
