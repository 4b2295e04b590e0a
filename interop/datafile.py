"""The one validating loader of the harness's data files (TOML, and the rows fixture's JSON lines).

A file's shape is a `Table` of `Key`s: each key's type, its default (or REQUIRED, or ABSENT: optional
and left out when not given), its allowed values, and for a nested table, an array of tables or a
table of named entries, their own `Table`. `load_toml(path, schema)` returns plain dicts and lists
with every default filled in, so a default is written once, in the schema. Anything the schema does
not allow raises `DataFileError` naming the file, the entry and the key:

    interop/faults.toml: fault 1 (challenge-in-pieces): unknown keys ['colum'] (allowed: [...]); missing keys ['column']
    interop/negative_cases.toml: case 5 (short-raw): signature = 'p1363-padded'; expected 'der', 'der-unsigned', ...

Rules that relate several keys or files stay with the file's consumer, which raises its error
(a subclass of DataFileError) in the same `FILE: ENTRY: problem` form, naming entries with `entry_name`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path


class DataFileError(ValueError):
    """A data file that breaks its schema or a rule; the message names the file, the entry and the key."""


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")
ABSENT = _Marker("ABSENT")  # optional, with no default: left out of the result when the file does not give it


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...] = object  # float also takes an int; int never takes a bool
    default: object = REQUIRED  # a value (copied into every entry), REQUIRED or ABSENT
    choices: Collection = ()  # the allowed values, when not empty
    check: Callable[[object], str | None] | None = None  # a problem with the value, or None
    table: Table | None = None  # a nested table (`[name]` or an inline table)
    each: Table | None = None  # an array of tables (`[[name]]`), each checked against it
    values: Table | type | None = None  # a table of named entries (`[name.ENTRY]`): each entry's table or type
    default_from: str | None = None  # when not given: the value of that key of the same entry


@dataclass(frozen=True)
class Table:
    keys: dict[str, Key]
    label: str | None = None  # the key whose value names an entry in errors: "fault 2 (challenge-delayed)"
    rule: Callable[[dict], str | None] | None = None  # a problem with the entry as a whole, or None


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
               dict: "a table", type(None): "null"}


def entry_name(kind: str, index: int | str, entry: object = None, label: str | None = None) -> str:
    """How errors name an entry: `fault 2 (challenge-delayed)`, `line 3 (all-types)`, `environment go`."""
    named = entry.get(label) if label and isinstance(entry, dict) else None
    return f"{kind} {index}" + (f" ({named})" if named is not None else "")


def load_toml(path: Path, schema: Table, error: type[DataFileError] = DataFileError) -> dict:
    """The TOML file at `path`, checked against `schema`, with its defaults filled in."""
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as problem:
        raise error(f"{path}: {problem}") from problem
    return check(data, schema, path, [], error)


def load_json_lines(path: Path, schema: Table, kind: str = "line",
                    error: type[DataFileError] = DataFileError) -> list[dict]:
    """Every non-blank line of a JSON-lines file, each checked against `schema` (named `line N (label)`)."""
    entries = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as problem:
            raise error(f"{path}:{number}: {problem}") from problem
        entries.append(check(data, schema, path, [entry_name(kind, number, data, schema.label)], error))
    return entries


def check(data: object, schema: Table, path: Path | str, where: list[str],
          error: type[DataFileError] = DataFileError) -> dict:
    """`data` as `schema` allows it, defaults filled in (the file's keys first, in its order)."""

    def fail(problem: str):
        return error(f"{path}: {_where(where)}: {problem}")

    if not isinstance(data, dict):
        raise fail(f"{data!r}; expected a table")
    unknown = sorted(set(data) - set(schema.keys))
    missing = sorted(name for name, key in schema.keys.items()
                     if key.default is REQUIRED and key.default_from is None and name not in data)
    if unknown or missing:
        raise fail("; ".join(([f"unknown keys {unknown} (allowed: {sorted(schema.keys)})"] if unknown else [])
                             + ([f"missing keys {missing}"] if missing else [])))
    result = {name: _value(data[name], schema.keys[name], name, path, where, error) for name in data}
    for name, key in schema.keys.items():
        if name not in result and key.default_from is None and key.default not in (REQUIRED, ABSENT):
            result[name] = copy.deepcopy(key.default)
    for name, key in schema.keys.items():
        if name not in result and key.default_from is not None:
            result[name] = result[key.default_from]
    problem = schema.rule(result) if schema.rule else None
    if problem:
        raise fail(problem)
    return result


def _value(value: object, key: Key, name: str, path, where: list[str], error) -> object:
    def fail(problem: str, shown: str = name, wrong: object = value):
        return error(f"{path}: {_where(where)}: {shown} = {wrong!r}; {problem}")

    if value is None and isinstance(key.type, tuple) and type(None) in key.type:
        return value  # a nullable key (JSON's null); TOML has none
    if key.each is not None:
        if not isinstance(value, list):
            raise fail("expected an array of tables")
        return [check(item, key.each, path, [*where, entry_name(name, index, item, key.each.label)], error)
                for index, item in enumerate(value, 1)]
    if key.table is not None:
        return check(value, key.table, path, [*where, name], error)
    if key.values is not None:
        if not isinstance(value, dict):
            raise fail("expected a table")
        if isinstance(key.values, Table):
            return {entry: check(item, key.values, path, [*where, f"{name} {entry}"], error)
                    for entry, item in value.items()}
        for entry, item in value.items():
            if not _is(item, key.values):
                raise fail(f"expected {_type_name(key.values)}", f"{name}.{entry}", item)
        return dict(value)
    if not _is(value, key.type):
        raise fail(f"expected {_type_name(key.type)}")
    if key.choices and value not in key.choices:
        raise fail(f"expected {alternatives(key.choices)}")
    problem = key.check(value) if key.check else None
    if problem:
        raise fail(problem)
    return value


def _where(where: list[str]) -> str:
    return ": ".join(where) if where else "top level"


def _is(value: object, expected: type | tuple[type, ...]) -> bool:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if object in kinds:
        return True
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds) or (isinstance(value, int) and float in kinds)


def _type_name(expected: type | tuple[type, ...]) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds)


def alternatives(choices: Collection) -> str:
    """'a', 'b' or 'c' (sorted)."""
    shown = [repr(choice) for choice in sorted(choices)]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def from_dataclass(cls: type, label: str | None = None, choices: dict[str, Collection] | None = None,
                   exclude: Collection[str] = ()) -> Table:
    """The schema of a dataclass's fields (less `exclude`): their types and defaults, so that both are
    written once; `choices` gives some fields their allowed values."""
    hints = typing.get_type_hints(cls)
    keys = {}
    for spec in dataclasses.fields(cls):
        if spec.name in exclude:
            continue
        if spec.default is not dataclasses.MISSING:
            default = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            default = spec.default_factory()
        else:
            default = REQUIRED
        keys[spec.name] = Key(_runtime_type(hints[spec.name]), default, (choices or {}).get(spec.name, ()))
    return Table(keys, label)


def _runtime_type(hint) -> type | tuple[type, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(_runtime_type(arg) for arg in typing.get_args(hint))
    return typing.get_origin(hint) or hint


__all__ = ["ABSENT", "REQUIRED", "DataFileError", "Key", "Table", "alternatives", "check", "entry_name",
           "from_dataclass", "load_json_lines", "load_toml"]
