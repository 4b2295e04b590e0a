"""A source file given directly (a client repository's examples/auth.py, say): one snippet, the whole file, in
the language of its extension (languages.toml).

A Rust file whose doc comments (`//!` for the enclosing module, `///` for the next item) hold a Rust fence is
read as rustdoc reads it instead: each run of doc comment lines of one kind is Markdown (prefix removed,
then the run's common indentation, as rustdoc unindents), and its fences are the snippets, numbered across
the file, with the file's line numbers. As in rustdoc, a fence without a language is Rust. A block's code
is kept as written, hidden lines (`# x`) and all, as for a Rust fence on a Markdown page: what rustdoc
compiles from it (hidden lines shown, `fn main` around it) is the Rust client's job (clients/rust.py), done
once there. Block doc comments (`/** */`, `/*! */`) and `#[doc = "..."]` are not read.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath

from .languages import extension_language
from .markdown import markdown_snippets
from .model import EMPTY_SOURCE_REASON, Page, Snippet, page_lines

__all__ = ["doc_comment_runs", "extract_source", "rustdoc_snippets"]

_DOC_COMMENT = re.compile(r"^\s*(//!|///(?!/))(.*)$")   # four slashes are an ordinary comment


def extract_source(text: str, name: str) -> Page:
    """The source file as one snippet, or, for a Rust file with Rust doc-test fences, those fences' snippets."""
    language = extension_language(PurePath(name).suffix) or ""
    lines = page_lines(text)
    if language == "rust":
        doc = rustdoc_snippets(lines, name)
        if any(s.language == "rust" for s in doc):
            return Page(path=Path(name), name=name, snippets=doc, no_snippet_reason=None)
    if not any(line.strip() for line in lines):
        return Page(path=Path(name), name=name, snippets=[], no_snippet_reason=EMPTY_SOURCE_REASON)
    whole = Snippet(page=name, index=1, line=1, language=language, info="", attrs={}, tab=None,
                    code="".join(line + "\n" for line in lines))
    return Page(path=Path(name), name=name, snippets=[whole], no_snippet_reason=None)


def doc_comment_runs(lines: list[str]) -> list[tuple[list[int], list[str]]]:
    """Each run of consecutive doc comment lines of one kind: (their 0-based line indexes, their Markdown text)."""
    runs: list[tuple[list[int], list[str]]] = []
    kind = None
    for i, line in enumerate(lines):
        m = _DOC_COMMENT.match(line)
        if not m:
            kind = None
            continue
        if m[1] != kind:
            runs.append(([], []))
            kind = m[1]
        runs[-1][0].append(i)
        runs[-1][1].append(m[2])
    return [(indexes, _unindent(text)) for indexes, text in runs]


def _unindent(text: list[str]) -> list[str]:
    widths = [len(t) - len(t.lstrip()) for t in text if t.strip()]
    cut = min(widths, default=0)
    return [t[cut:] if t.strip() else "" for t in text]


def rustdoc_snippets(lines: list[str], name: str) -> list[Snippet]:
    """The fenced snippets of every doc comment run of a Rust file, numbered across it, at the file's lines."""
    snippets: list[Snippet] = []
    for indexes, text in doc_comment_runs(lines):
        for s in markdown_snippets(text, name):
            snippets.append(Snippet(page=name, index=len(snippets) + 1, line=indexes[s.line - 1] + 1,
                                    language=s.language or "rust", info=s.info, attrs=s.attrs, tab=s.tab,
                                    code=s.code, heading=s.heading))
    return snippets
