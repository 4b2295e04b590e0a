"""Tables declared ahead of time: the stub's `--schema FILE`, a TOML file the QuestDB parity reads too.

QuestDB never makes a DECIMAL column from ILP (measured on 9.3.4: a decimal for a missing column
refuses the row), so rows with decimals need their tables created first. The file::

    [table.prices]                                   # the table's name, as the rows write it
    columns = { price = "DECIMAL(18,4)", qty = "LONG" }

Each table also gets the designated timestamp, `timestamp` of type TIMESTAMP. `create_sql` gives
the statement that creates a table in QuestDB, so that the stub and the real server start alike.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

# Column types a schema may declare, as QuestDB names them (DECIMAL takes a precision and a scale).
SIMPLE_TYPES = {"BOOLEAN", "LONG", "DOUBLE", "VARCHAR", "SYMBOL", "TIMESTAMP", "TIMESTAMP_NS", "LONG256"}
_DECIMAL_RE = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_ARRAY_RE = re.compile(r"DOUBLE((?:\[\])+)")
MAX_PRECISION = 76


class SchemaError(ValueError):
    """A schema file that cannot be used: the message names the file, the table and the problem."""


def decimal_type(column_type: str) -> tuple[int, int] | None:
    """(precision, scale) of a DECIMAL(p,s) type, or None for any other type."""
    match = _DECIMAL_RE.fullmatch(column_type)
    return None if match is None else (int(match[1]), int(match[2]))


def load_schema(path: str | Path) -> dict[str, dict[str, str]]:
    """{table: {column: TYPE}} from a schema file, every type checked; SchemaError otherwise."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SchemaError(f"{path}: {exc}") from None
    if set(data) - {"table"}:
        raise SchemaError(f"{path}: unknown key(s) {sorted(set(data) - {'table'})}; a schema has [table.NAME] only")
    tables = {}
    for table, entry in data.get("table", {}).items():
        where = f"{path}: [table.{table}]"
        if not isinstance(entry, dict) or set(entry) != {"columns"} or not isinstance(entry["columns"], dict):
            raise SchemaError(f"{where}: needs exactly one key, columns = {{ name = \"TYPE\", ... }}")
        columns = {}
        for name, column_type in entry["columns"].items():
            if not isinstance(column_type, str) or not known_type(column_type):
                raise SchemaError(f"{where}: column {name!r} has type {column_type!r}; known: "
                                  f"{', '.join(sorted(SIMPLE_TYPES))}, DOUBLE[] (one [] per dimension), "
                                  f"DECIMAL(p,s) with 1 <= p <= {MAX_PRECISION} and 0 <= s <= p")
            if name.lower() == "timestamp":
                raise SchemaError(f"{where}: column 'timestamp' is the designated timestamp, declared for you")
            columns[name] = column_type
        tables[table] = columns
    return tables


def known_type(column_type: str) -> bool:
    """Whether a schema may declare this column type (the stub models it)."""
    if column_type in SIMPLE_TYPES or _ARRAY_RE.fullmatch(column_type):
        return True
    decimal = decimal_type(column_type)
    return decimal is not None and 1 <= decimal[0] <= MAX_PRECISION and 0 <= decimal[1] <= decimal[0]


def create_sql(table: str, columns: dict[str, str]) -> str:
    """The CREATE TABLE statement that makes `table` in QuestDB as the schema declares it."""
    quoted = ", ".join(f'"{name}" {column_type}' for name, column_type in columns.items())
    return (f"CREATE TABLE '{table}' ({quoted}, timestamp TIMESTAMP) timestamp(timestamp) "
            "PARTITION BY DAY WAL")
