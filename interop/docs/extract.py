"""Find every code snippet on a documentation page, whatever its format; the format is chosen by file name.

    .rst, .rest                               reStructuredText (formats/rst.py)
    .py .js .mjs .cjs .ts .mts .cts .tsx .jsx .go .rs .java .c .cpp .cc .cxx .cs
                                              a source file given directly (formats/source.py): one snippet in
                                              the language of its extension, or a Rust file's doc-test fences
    anything else                             Markdown/MDX (formats/markdown.py): .md, .mdx, README without an
                                              extension, and the shared sample pages (.txt files holding MDX)

The extensions of source files are those in formats/languages.toml. A page is read at run time; nothing of
it is kept here. Each snippet knows its language, the tab and heading it sits under and a digest of its
content: with its language they name it in the expectations, so a block inserted above does not shift them.
A page with no snippet gets a reason instead (formats/model.py: NO_FENCES_REASON, SCRAPED_REASON, ...).
"""

from __future__ import annotations

from pathlib import Path, PurePath

from .formats.languages import extension_language, normalise_language
from .formats.markdown import extract_markdown
from .formats.model import (
    EMPTY_SOURCE_REASON,
    NO_FENCES_REASON,
    NO_RST_BLOCKS_REASON,
    SCRAPED_REASON,
    Page,
    Snippet,
    content_digest,
)
from .formats.rst import extract_rst
from .formats.source import extract_source

__all__ = ["EMPTY_SOURCE_REASON", "NO_FENCES_REASON", "NO_RST_BLOCKS_REASON", "SCRAPED_REASON", "Page", "Snippet",
           "content_digest", "extract_page", "extract_text", "normalise_language", "page_format"]

RST_SUFFIXES = (".rst", ".rest")


def page_format(name: str) -> str:
    """How a page of this file name is read: "rst", "source" or "markdown" (the default)."""
    suffix = PurePath(name).suffix.lower()
    if suffix in RST_SUFFIXES:
        return "rst"
    if suffix and extension_language(suffix):
        return "source"
    return "markdown"


def extract_text(text: str, name: str = "<page>", folder: Path | None = None) -> Page:
    """Every snippet of a page given as text (path = Path(name)), read in the format its name says.
    `folder` is the page's folder, where an rst literalinclude or a Rust `#![doc = include_str!(...)]` finds
    its file (None: a note on the Page, no snippet)."""
    kind = page_format(name)
    if kind == "rst":
        return extract_rst(text, name, folder)
    return extract_source(text, name, folder) if kind == "source" else extract_markdown(text, name)


def extract_page(path) -> Page:
    """Every snippet of the page at `path`."""
    path = Path(path)
    page = extract_text(path.read_text(encoding="utf-8", errors="replace"), path.name, path.parent)
    page.path = path
    return page
