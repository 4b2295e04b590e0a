"""What every page format produces: a Page of Snippets, each named by its heading, language and digest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

NO_FENCES_REASON = "the page has no fenced code blocks"
SCRAPED_REASON = ("text scraped from a rendered page: code appears without fences, "
                  "so no snippet can be delimited reliably")
NO_RST_BLOCKS_REASON = "the page has no code-block, code or :: literal blocks"
EMPTY_SOURCE_REASON = "the source file is empty"


@dataclass(frozen=True)
class Snippet:
    page: str          # the page's file name
    index: int         # 1-based position among the page's code blocks
    line: int          # 1-based line of the block's opening (fence, directive, `::` paragraph line; 1 for a file)
    language: str      # normalised (formats/languages.toml): "javascript", "typescript", "go", "python", "rust",
    #                    "java", "c", "cpp", "csharp", "bash", "ini", "json", "text", ... ; "" when unlabelled;
    #                    a word the table does not know, lowercased
    info: str          # the raw info string after the fence marker (rst: the directive's argument)
    attrs: dict = field(hash=False)   # attributes of the info string, e.g. {"title": "/path/to/server.conf"},
    #                    rustdoc words ({"no_run": ""}), rst directive options ({"caption": "auth.py"})
    tab: str | None    # the label of the enclosing tab (<TabItem>, rst tab directives), or None
    code: str          # the block's content without its delimiters, its indentation removed (a Rust doc test
    #                    as written, hidden `# ` lines included, its `//!`/`///` prefixes removed)
    heading: str = ""  # the nearest heading above the block ("" before the first)

    @property
    def digest(self) -> str:
        return content_digest(self.code)


@dataclass
class Page:
    path: Path
    name: str
    snippets: list[Snippet]
    no_snippet_reason: str | None   # None when there are snippets; else why there is nothing to run
    notes: list[str] = field(default_factory=list)   # blocks the page has that gave no snippet, and why
    #                  (an rst literalinclude whose file is not found); for the report, not a verdict


def content_digest(code: str) -> str:
    """12 hex digits of SHA-256 over the block's lines, trailing spaces and surrounding blank lines dropped
    (so re-wrapping the fence or trailing whitespace does not change it; any other edit does)."""
    text = "\n".join(line.rstrip() for line in code.splitlines()).strip("\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def page_lines(text: str) -> list[str]:
    """A page's lines: a leading BOM and CRs before newlines dropped, no empty last line for the final newline."""
    text = text.removeprefix("\ufeff")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines
