"""reStructuredText pages: code directives, `::` literal blocks, section titles and tab directives.

Snippets:
- `.. code-block:: LANG`, `.. code:: LANG`, `.. sourcecode:: LANG` and sphinx-tabs' `.. code-tab:: LANG [LABEL]`:
  the directive's indented block; its leading option lines (`:caption: x`, `:linenos:`) go to Snippet.attrs,
  not the code. The argument is the info string; its first word the language.
- a paragraph ending in `::` followed by a blank line and a more indented block: a literal block, unlabelled
  (as Markdown's unlabelled fence: the enclosing tab's language, else the page's `.. highlight:: LANG`).
  A directive without a language (`.. code-block::`) is resolved the same way.
- `.. literalinclude:: FILE` (Sphinx): the file's code (rst_include.py), found from the page's folder, its
  language the `:language:` option's, else the file extension's, else the tab's, else the highlight's.
  An include that cannot be read gives no snippet but a note on the Page saying why.
Headings are section titles: a line of text underlined, and optionally overlined, with one punctuation
character repeated (as docutils: an underline shorter than the title counts from 4 characters on).
Tabs are `.. tab:: LABEL`, `.. group-tab:: LABEL` (sphinx-tabs, sphinx-inline-tabs) and `.. tab-item:: LABEL`
(sphinx-design): the label applies to the directive's indented block. Other directives' content is read as
text (a `.. note::` may hold a code block). Comments (`.. text` with no `::`) are skipped with their indented
block. Tabs are expanded to 8 columns, as docutils does.
Not read: doctest blocks (`>>>`), quoted literal blocks, sphinx.ext.doctest's directives (`testcode`).
"""

from __future__ import annotations

import re
from pathlib import Path

from .languages import extension_language, split_language_word, tab_language
from .markdown import heading_text
from .model import NO_RST_BLOCKS_REASON, Page, Snippet, page_lines
from .rst_include import included_code

__all__ = ["extract_rst", "rst_snippets"]

CODE_DIRECTIVES = ("code-block", "code", "sourcecode", "code-tab")
TAB_DIRECTIVES = ("tab", "group-tab", "tab-item")
_UNSET_HIGHLIGHT = ("default", "none", "guess")   # `.. highlight::` values that name no language

_DIRECTIVE = re.compile(r"^(?P<indent> *)\.\.[ ]+(?P<name>[A-Za-z0-9][\w.:+-]*?)[ ]*::(?:[ ]+(?P<arg>.*?))?[ ]*$")
_EXPLICIT = re.compile(r"^(?P<indent> *)\.\.(?:[ ]|$)")          # any explicit markup start: comments too
_OPTION = re.compile(r"^ *:(?P<name>[^:\s][^:]*):(?:[ ]+(?P<value>.*?))?[ ]*$")
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1*[ ]*$")               # one punctuation character, repeated
_LIST_MARKER = re.compile(r"^ *(?:[-*+•]|\(?(?:\d+|#|[A-Za-z])[.)])[ ]+")


def extract_rst(text: str, name: str, folder: Path | None = None) -> Page:
    """Every code snippet of a reStructuredText page given as text (path = Path(name)); `folder` is where
    the page lives, for literalinclude (None: such includes become notes)."""
    notes: list[str] = []
    snippets = rst_snippets(page_lines(text), name, folder, notes)
    return Page(path=Path(name), name=name, snippets=snippets,
                no_snippet_reason=None if snippets else NO_RST_BLOCKS_REASON, notes=notes)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index just past the block from `start` of blank lines and lines indented more than `indent`,
    trailing blank lines left out."""
    end = j = start
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > indent):
        j += 1
        if lines[j - 1].strip():
            end = j
    return end


def _dedented(lines: list[str]) -> str:
    """The lines without their common indentation and the blank lines around them, newline-terminated."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    cut = min((_indent(line) for line in lines if line.strip()), default=0)
    return "".join(line[cut:].rstrip() + "\n" if line.strip() else "\n" for line in lines)


def _title(lines: list[str], i: int) -> tuple[str, int] | None:
    """(title, lines it spans) when a section title starts at lines[i], else None."""
    line = lines[i]
    over = _ADORNMENT.match(line)
    if over and not _indent(line) and i + 2 < len(lines) and lines[i + 1].strip() and not _ADORNMENT.match(lines[i + 1]):
        under = _ADORNMENT.match(lines[i + 2])
        if under and under[1] == over[1] and line.rstrip() == lines[i + 2].rstrip():
            return heading_text(lines[i + 1]), 3
    if (not line.strip() or _indent(line) or over or i + 1 >= len(lines)
            or (i > 0 and lines[i - 1].strip())):
        return None
    under = _ADORNMENT.match(lines[i + 1])
    if not under:
        return None
    width, title = len(lines[i + 1].rstrip()), line.rstrip()
    if width < len(title) and width < 4:
        return None
    return heading_text(title), 2


def _directive_parts(lines: list[str], start: int, end: int) -> tuple[dict[str, str], str]:
    """A directive's options (its leading `:name: value` lines) and its content, from its block."""
    options: dict[str, str] = {}
    j = start
    while j < end and lines[j].strip() and (m := _OPTION.match(lines[j])):
        options[m["name"].strip()] = m["value"] or ""
        j += 1
    return options, _dedented(lines[j:end])


class _Tabs:
    """The tab directives enclosing a line: (indentation of the directive, label), innermost last."""

    def __init__(self) -> None:
        self.open: list[tuple[int, str]] = []

    def at(self, indent: int) -> None:
        """A non-blank line at this indentation closes the tabs it is not inside."""
        while self.open and self.open[-1][0] >= indent:
            self.open.pop()

    @property
    def label(self) -> str | None:
        return self.open[-1][1] if self.open else None


def rst_snippets(lines: list[str], name: str, folder: Path | None = None,
                 notes: list[str] | None = None) -> list[Snippet]:
    """The code snippets of a reStructuredText page's lines, in order; why an include gave none goes to `notes`."""
    lines = [line.expandtabs(8) for line in lines]
    snippets: list[Snippet] = []
    tabs = _Tabs()
    heading, highlight = "", ""
    paragraph_indent = 0     # the text indentation of the current paragraph's first line
    text_line = -2           # the index of the last paragraph line read (a paragraph starts after anything else)

    def add(line: int, info: str, attrs: dict[str, str], code: str, tab: str | None = None,
            language: str | None = None) -> None:
        """A snippet; its language from `language` when given (literalinclude), else the info's first word."""
        said = info if language is None else language
        word, extra = split_language_word(said.split()[0]) if said.split() else ("", [])
        tab = tabs.label if tab is None else tab
        language = word or tab_language(tab, None) or highlight
        attrs = {**dict.fromkeys(extra, ""), **attrs}
        snippets.append(Snippet(page=name, index=len(snippets) + 1, line=line, language=language, info=info,
                                attrs=attrs, tab=tab, code=code, heading=heading))

    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        indent = _indent(line)
        tabs.at(indent)
        title = _title(lines, i)
        if title:
            heading, i = title[0], i + title[1]
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            kind, arg = directive["name"].lower(), (directive["arg"] or "").strip()
            end = _block_end(lines, i + 1, indent)
            if kind in CODE_DIRECTIVES:
                options, code = _directive_parts(lines, i + 1, end)
                tab = None
                if kind == "code-tab":   # `.. code-tab:: py Python 3`: the language, then the tab's label
                    words = arg.split(maxsplit=1)
                    tab = words[1] if len(words) > 1 else (words[0] if words else "")
                add(i + 1, arg, options, code, tab)
                i = end
                continue
            if kind == "literalinclude":
                options, _ = _directive_parts(lines, i + 1, end)
                code, problem = included_code(arg, options, folder)
                if code is None:
                    if notes is not None:
                        notes.append(f"line {i + 1}: {problem}")
                else:
                    language = options.get("language") or extension_language(Path(arg).suffix) or ""
                    add(i + 1, arg, options, code, language=language)
                i = end
                continue
            if kind == "highlight":
                word = split_language_word(arg.split()[0])[0] if arg else ""
                highlight = "" if word in _UNSET_HIGHLIGHT else word
            elif kind in TAB_DIRECTIVES:
                tabs.open.append((indent, arg))
            i += 1                      # other directives' content is read as text: it may hold code blocks
            continue
        if _EXPLICIT.match(line):       # a comment, target, footnote or substitution: skipped with its block
            empty_comment = line.strip() == ".." and (i + 1 >= len(lines) or not lines[i + 1].strip())
            i = i + 1 if empty_comment else _block_end(lines, i + 1, indent)
            continue
        if text_line != i - 1:
            marker = _LIST_MARKER.match(line)
            paragraph_indent = marker.end() if marker else indent
        text_line = i
        if line.rstrip().endswith("::") and (i + 1 >= len(lines) or not lines[i + 1].strip()):
            end = _block_end(lines, i + 1, paragraph_indent)
            if end > i + 1:
                add(i + 1, "", {}, _dedented(lines[i + 1:end]))
                i = end
                continue
        i += 1
    return snippets
