"""A source file given directly (a client repository's examples/auth.py, say): one snippet, the whole file, in
the language of its extension (languages.toml).

A Rust file whose doc comments (`//!` for the enclosing module, `///` for the next item) hold a Rust fence is
read as rustdoc reads it instead: each run of doc comment lines of one kind is Markdown (prefix removed,
then the run's common indentation, as rustdoc unindents), and its fences are the snippets, numbered across
the file, with the file's line numbers. As in rustdoc, a fence without a language is Rust. A block's code
is kept as written, hidden lines (`# x`) and all, as for a Rust fence on a Markdown page: what rustdoc
compiles from it (hidden lines shown, `fn main` around it) is the Rust client's job (clients/rust.py), done
once there. A doc attribute naming a file, `#![doc = include_str!("../README.md")]` (a crate's README as its
docs), is read as such a run, from the file's folder: its snippets have that file's line numbers, and a note
on the Page says so (or why the file could not be read). Block doc comments (`/** */`, `/*! */`), other
`#[doc = ...]` values and `include_str!` paths that are not a plain string are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from .languages import extension_language
from .markdown import markdown_snippets
from .model import EMPTY_SOURCE_REASON, Page, Snippet, page_lines

__all__ = ["DocRun", "doc_runs", "extract_source", "rustdoc_snippets"]

_DOC_COMMENT = re.compile(r"^\s*(//!|///(?!/))(.*)$")   # four slashes are an ordinary comment
_DOC_INCLUDE = re.compile(r"""^\s*#!?\[.*\bdoc\s*=\s*include_str!\(\s*"(?P<path>[^"\\]+)"\s*\)""")


@dataclass
class DocRun:
    """Markdown that rustdoc reads as docs: a run of doc comment lines, or a file a doc attribute includes."""

    text: list[str]           # the Markdown lines
    lines: list[int]          # the 1-based line of each, in this file or in `included`
    included: str = ""        # the include_str! path, when the run is another file ("" for this file's comments)
    at: int = 0               # the line of the doc attribute that includes it


def extract_source(text: str, name: str, folder: Path | None = None) -> Page:
    """The source file as one snippet, or, for a Rust file with Rust doc-test fences, those fences' snippets.
    `folder` is the file's folder, where an `include_str!` doc attribute finds its file."""
    language = extension_language(PurePath(name).suffix) or ""
    lines = page_lines(text)
    notes: list[str] = []   # what could not be read
    if language == "rust":
        doc, origins = rustdoc_snippets(lines, name, folder, notes)
        if any(s.language == "rust" for s in doc):
            return Page(path=Path(name), name=name, snippets=doc, no_snippet_reason=None, notes=notes + origins)
    if not any(line.strip() for line in lines):
        return Page(path=Path(name), name=name, snippets=[], no_snippet_reason=EMPTY_SOURCE_REASON, notes=notes)
    whole = Snippet(page=name, index=1, line=1, language=language, info="", attrs={}, tab=None,
                    code="".join(line + "\n" for line in lines))
    return Page(path=Path(name), name=name, snippets=[whole], no_snippet_reason=None, notes=notes)


def doc_runs(lines: list[str], folder: Path | None = None, notes: list[str] | None = None) -> list[DocRun]:
    """Each run of consecutive doc comment lines of one kind, and each file a doc attribute includes, in order;
    why an included file could not be read goes to `notes`."""
    runs: list[DocRun] = []
    kind = None
    for i, line in enumerate(lines):
        m = _DOC_COMMENT.match(line)
        if not m:
            kind = None
            include = _DOC_INCLUDE.match(line)
            if include:
                run = _included_run(include["path"], i + 1, folder, notes)
                runs += [run] if run else []
            continue
        if m[1] != kind:
            runs.append(DocRun([], []))
            kind = m[1]
        runs[-1].lines.append(i + 1)
        runs[-1].text.append(m[2])
    for run in runs:
        if not run.included:
            run.text = _unindent(run.text)
    return runs


def _included_run(target: str, at: int, folder: Path | None, notes: list[str] | None) -> DocRun | None:
    problem = "the file's folder is not known" if folder is None else ""
    if not problem:
        try:
            text = page_lines((folder / target).read_text(encoding="utf-8"))
            return DocRun(text, list(range(1, len(text) + 1)), target, at)
        except (OSError, UnicodeDecodeError) as error:
            problem = str(error)
    if notes is not None:
        notes.append(f"line {at}: include_str!({target!r}) not read: {problem}")
    return None


def _unindent(text: list[str]) -> list[str]:
    widths = [len(t) - len(t.lstrip()) for t in text if t.strip()]
    cut = min(widths, default=0)
    return [t[cut:] if t.strip() else "" for t in text]


def rustdoc_snippets(lines: list[str], name: str, folder: Path | None = None,
                     notes: list[str] | None = None) -> tuple[list[Snippet], list[str]]:
    """The fenced snippets of every doc run of a Rust file, numbered across it, at their lines, and for each
    run from an included file a note saying which snippets come from it; what could not be read goes to `notes`."""
    snippets: list[Snippet] = []
    origins: list[str] = []
    for run in doc_runs(lines, folder, notes):
        first = len(snippets) + 1
        for s in markdown_snippets(run.text, name):
            snippets.append(Snippet(page=name, index=len(snippets) + 1, line=run.lines[s.line - 1],
                                    language=s.language or "rust", info=s.info, attrs=s.attrs, tab=s.tab,
                                    code=s.code, heading=s.heading))
        if run.included and len(snippets) >= first:
            origins.append(f"line {run.at}: snippets #{first}-#{len(snippets)} are the doc tests of {run.included} "
                           "(include_str!); their line numbers are that file's")
    return snippets, origins
