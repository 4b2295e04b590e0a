"""The repository stands on its own: every file, test and section it cites is in it, and nothing but
tests and the docs check's default input reaches into ../shared.

Citations are read from every tracked text file:
- `path::test_name`: the file exists and defines that test;
- a repository path in backticks or a Markdown link (`interop/clients.toml`, `](../server_stub/README.md)`):
  it exists (links relative to the citing file, backticked paths relative to the repository root);
- `PROTOCOL.md section N` / `§N`: the protocol document has a heading numbered N.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from interop.paths import REPO

PROTOCOL = REPO / "server_stub" / "PROTOCOL.md"
TEXT_SUFFIXES = {".md", ".py", ".go", ".rs", ".mjs", ".js", ".java", ".xml", ".toml", ".txt", ".cfg", ".ini", ""}


def _top_folders() -> tuple[str, ...]:
    """Every top folder git tracks a file in (server_stub, interop, each language's folder, .ci): a
    backticked path starting with one of them is checked, so a new language's folder is without a list."""
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True,
                           timeout=60).stdout.split()
    return tuple(sorted({n.split("/")[0] for n in names if "/" in n}))


TOP_FOLDERS = _top_folders()

TEST_CITATION = re.compile(r"([\w./-]+\.py)::(test_\w+)")
BACKTICKED_PATH = re.compile(r"`((?:{})/[\w./-]*\w)`".format("|".join(re.escape(f) for f in TOP_FOLDERS)))
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
SECTION_CITATION = re.compile(r"PROTOCOL\.md(?:,)? (?:section|§) ?(\d+(?:\.\d+)?)")
HEADING_NUMBER = re.compile(r"^#{2,4} (\d+(?:\.\d+)?)\.? ", re.MULTILINE)
# Where a program may name the shared folder beside the repository: the tests that read its inputs,
# and the docs check, whose default pages live there.
MAY_READ_SHARED = ("server_stub/tests/", "interop/tests/", "interop/docs/main.py")


@cache
def tracked() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True,
                           timeout=60).stdout.split()
    return [REPO / n for n in names if Path(n).suffix in TEXT_SUFFIXES and (REPO / n).is_file()]


def _text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError:
        return ""


def _where(path: Path, text: str, index: int) -> str:
    return f"{path.relative_to(REPO)}:{text.count(chr(10), 0, index) + 1}"


def test_every_cited_test_exists():
    cited = 0
    problems = []
    for path in tracked():
        text = _text(path)
        for match in TEST_CITATION.finditer(text):
            file, name = REPO / match[1], match[2]
            cited += 1
            if not file.is_file():
                problems.append(f"{_where(path, text, match.start())}: {match[1]} does not exist")
            elif not re.search(rf"^(?:async )?def {name}\(", _text(file), re.MULTILINE):
                problems.append(f"{_where(path, text, match.start())}: {match[1]} has no test {name}")
    assert cited >= 40, f"only {cited} test citations found: is the pattern still right?"
    assert problems == []


def test_every_cited_path_exists():
    checked = 0
    problems = []
    for path in tracked():
        text = _text(path)
        for match in BACKTICKED_PATH.finditer(text):
            checked += 1
            if not (REPO / match[1]).exists():
                problems.append(f"{_where(path, text, match.start())}: `{match[1]}` does not exist")
        if path.suffix == ".md":
            for match in MARKDOWN_LINK.finditer(text):
                target = match[1]
                if "://" in target or target.startswith("mailto:"):
                    continue
                checked += 1
                if not (path.parent / target).resolve().exists():
                    problems.append(f"{_where(path, text, match.start())}: link {target} does not resolve")
    assert checked >= 50, f"only {checked} paths found: is the pattern still right?"
    assert problems == []


def test_every_cited_protocol_section_exists():
    sections = set(HEADING_NUMBER.findall(PROTOCOL.read_text("utf-8")))
    assert {"1", "1.3", "4", "8"} <= sections
    problems = []
    for path in tracked():
        text = _text(path)
        for match in SECTION_CITATION.finditer(text):
            if match[1] not in sections:
                problems.append(f"{_where(path, text, match.start())}: PROTOCOL.md has no section {match[1]}")
    assert problems == []


@pytest.mark.parametrize("document", ["PROTOCOL.md", "DESIGN.md", "ARCHITECTURE.md", "CLIENTS.md"])
def test_a_bare_document_name_is_only_used_beside_the_document(document):
    """`PROTOCOL.md` alone would send a reader looking; elsewhere the path says which one."""
    homes = {p.parent for p in tracked() if p.name == document}
    bare = re.compile(rf"(?<![\w./-]){re.escape(document)}")
    problems = []
    for path in tracked():
        text = _text(path)
        if path.parent in homes or path.name == Path(__file__).name:
            continue
        for match in bare.finditer(text):
            problems.append(f"{_where(path, text, match.start())}: bare {document}")
    assert problems == []


def test_only_tests_and_the_docs_check_reach_into_the_shared_folder():
    shared = re.compile(r"""\.\./shared|parent\s*/\s*["']shared["']|["']shared["']\s*\)""")
    problems = []
    for path in tracked():
        relative = str(path.relative_to(REPO))
        if path.suffix == ".md" or relative.startswith(MAY_READ_SHARED):
            continue  # prose may say where the default inputs come from
        text = _text(path)
        for match in shared.finditer(text):
            if path.suffix in (".toml", "") and text[:match.start()].rfind("#") > text[:match.start()].rfind("\n"):
                continue  # a comment in a data file or script, not a path it opens
            problems.append(f"{_where(path, text, match.start())}: names the shared folder")
    assert problems == []
    for path in tracked():
        if path.name != Path(__file__).name:
            assert "shared/PROTOCOL.md" not in _text(path) and "shared/DESIGN.md" not in _text(path), path
