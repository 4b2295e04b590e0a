"""Language names: an info-string word, a tab label or a file extension to the language a snippet has.

The names live in languages.toml beside this module, checked by the one loader (interop/datafile.py) when
first used; the comment at its top says why tsx, jsx and h are not folded into another language.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ...datafile import DataFileError, Key, Table, load_toml

LANGUAGES_FILE = Path(__file__).with_name("languages.toml")


class LanguagesError(DataFileError):
    """languages.toml names a word for two languages, or a pattern that is not a regex."""


def _words(value: list) -> str | None:
    bad = [w for w in value if not isinstance(w, str) or not w or w != w.strip().lower()]
    return f"expected lowercase words without spaces, not {bad}" if bad else None


def _patterns(value: list) -> str | None:
    for pattern in value:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as problem:
            return f"{pattern!r} is not a regex: {problem}"
    return None


def _one_language_per_word(data: dict) -> str | None:
    for kind in ("aliases", "extensions"):
        seen: dict[str, str] = {}
        for name, entry in data["language"].items():
            for word in {name, *entry[kind]} if kind == "aliases" else entry[kind]:
                if seen.setdefault(word, name) != name:
                    return f"{kind}: {word!r} is given to both {seen[word]} and {name}"
    return None


SCHEMA = Table({
    "language": Key(dict, values=Table({
        "aliases": Key(list, check=_words),
        "extensions": Key(list, [], check=_words),
    })),
    "rustdoc": Key(dict, table=Table({
        "attributes": Key(list, check=_words),
        "attribute_patterns": Key(list, check=_patterns),
    })),
}, rule=_one_language_per_word)


@cache
def load_languages(path: Path = LANGUAGES_FILE) -> dict:
    """languages.toml, checked (LanguagesError names the file, the entry and the key)."""
    return load_toml(path, SCHEMA, LanguagesError)


@cache
def _aliases() -> dict[str, str]:
    return {word: name for name, entry in load_languages()["language"].items() for word in (name, *entry["aliases"])}


def is_rustdoc_attribute(word: str) -> bool:
    """True for a rustdoc code-block attribute (no_run, ignore, edition2021, ignore-windows, E0277, ...)."""
    table = load_languages()["rustdoc"]
    return word in table["attributes"] or any(re.fullmatch(p, word) for p in table["attribute_patterns"])


def split_language_word(word: str) -> tuple[str, list[str]]:
    """An info string's first word as (language, the rustdoc-style words after it).

    `python` -> ("python", []); `rust,no_run` -> ("rust", ["no_run"]); `no_run` or `ignore,edition2021`
    -> ("rust", [...every word]); `c++` -> ("cpp", []). Words are separated by commas; an unknown first
    word is returned lowercased."""
    parts = [p for p in word.strip().split(",") if p.strip()]
    if not parts:
        return "", []
    first = parts[0].strip()
    if is_rustdoc_attribute(first):
        return "rust", [p.strip() for p in parts]
    return _aliases().get(first.lower(), first.lower()), [p.strip() for p in parts[1:]]


def normalise_language(word: str) -> str:
    """An info-string language word, normalised: known aliases map to their canonical name (a rustdoc
    attribute such as `no_run`, or `rust,no_run`, to "rust"), anything else lowercased."""
    return split_language_word(word)[0]


def tab_language(label: str | None, value: str | None) -> str:
    """A tab's label or value as a known language ("NodeJS", "Go", "Python 3", "Node.js", "C#", "C++"), else ""."""
    aliases = _aliases()
    for candidate in (label, value):
        if candidate:
            word = re.sub(r"\s+", "", candidate.lower())
            for form in (word, word.replace(".", "")):
                if form in aliases:
                    return aliases[form]
    return ""


def extension_language(suffix: str) -> str | None:
    """The language of a source file with this extension (".py", "rs"), or None when it is not a source file here."""
    suffix = suffix.lower().removeprefix(".")
    return next((name for name, entry in load_languages()["language"].items() if suffix in entry["extensions"]), None)
