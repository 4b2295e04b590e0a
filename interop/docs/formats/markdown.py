"""Markdown and MDX pages: every fenced code block, with the tab, heading and language it sits under.

Fences are ``` or ~~~ (three or more, possibly indented inside JSX), closed by a line of the same character
at least as long; an unclosed fence runs to the end of the page. Outside fences, Docusaurus
``<Tabs values={[...]}>`` / ``<TabItem value="...">`` tags are tracked (JSX may span lines; nesting allowed)
so each snippet knows the label of the tab it sits in, and an unlabelled fence takes the tab's language.
Each snippet also knows the nearest heading above it (ATX `## ...` or setext). The info string's first word
is the language (languages.py: `rust,no_run` is Rust with {"no_run": ""} in attrs); the rest are attributes.
A page with no fences gets a reason instead of snippets, which says when the page looks like text scraped
from a rendered site (code without fences, so nothing can be delimited reliably).
"""

from __future__ import annotations

import re
from pathlib import Path

from .languages import split_language_word, tab_language
from .model import NO_FENCES_REASON, SCRAPED_REASON, Page, Snippet, page_lines

__all__ = ["extract_markdown", "heading_text", "markdown_snippets"]

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")


def heading_text(text: str) -> str:
    """A heading's text: a Docusaurus anchor ({#id}) and inline markup around it removed."""
    text = re.sub(r"\s*\{#[^}]*\}\s*$", "", text.strip())
    return re.sub(r"\s+", " ", text.replace("`", "").replace("**", "")).strip()


# --- fences -----------------------------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>`{3,}|~{3,})(?P<info>.*)$")
_INFO_ATTR = re.compile(r"""(?P<key>[^\s=]+)=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S*))|(?P<word>\S+)""")


def _open_fence(line: str) -> tuple[str, str, str] | None:
    """(indent, marker, info) when the line opens a fence, else None."""
    m = _FENCE_OPEN.match(line)
    if not m:
        return None
    marker, info = m["marker"], m["info"]
    if marker[0] == "`" and "`" in info:   # CommonMark: a backtick fence's info has no backtick (inline code)
        return None
    return m["indent"], marker, info


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return (len(stripped) >= len(marker) and set(stripped) == {marker[0]})


def _split_info(info: str) -> tuple[str, dict]:
    """The info string's normalised language and its attributes (key='v', key="v", key=v, bare word -> "";
    the rustdoc words after a comma, as in `rust,no_run`, are bare words too)."""
    info = info.strip()
    m = re.match(r"[^\s{]*", info)
    word = m.group(0) if m else ""
    language, extra = split_language_word(word)
    attrs: dict[str, str] = dict.fromkeys(extra, "")
    for a in _INFO_ATTR.finditer(info[len(word):]):
        if a["word"] is not None:
            attrs[a["word"]] = ""
        else:
            attrs[a["key"]] = next(v for v in (a["dq"], a["sq"], a["bare"]) if v is not None)
    return language, attrs


def _dedent(line: str, indent: str) -> str:
    """Remove the fence's indentation: at most len(indent) leading whitespace characters."""
    if line.startswith(indent):
        return line[len(indent):]
    n = 0
    while n < len(indent) and n < len(line) and line[n] in " \t":
        n += 1
    return line[n:]


# --- JSX tabs ---------------------------------------------------------------------------------------------

_TAG_START = re.compile(r"<(?P<close>/?)\s*(?P<name>TabItem|Tabs)(?=[\s/>]|$)")
_TAG_OR_CODE = re.compile(r"[<`]")  # where a tag or an inline code span may start
_MAX_PENDING_LINES = 60


def _unquoted(text: str, start: int):
    """(index, character, brace depth after it) for every character from `start` outside quotes."""
    depth, quote, i = 0, "", start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        else:
            if c == "{":
                depth += 1
            elif c == "}":
                depth = max(0, depth - 1)
            yield i, c, depth
        i += 1


def _tag_end(text: str, start: int) -> int | None:
    """Index just past the '>' ending the JSX tag begun before `start`, honouring quotes and braces; None if open."""
    return next((i + 1 for i, c, depth in _unquoted(text, start) if c == ">" and depth == 0), None)


def _braced(text: str, start: int) -> int:
    """Index just past the brace expression opening at text[start] == '{' (or len(text) if unbalanced)."""
    return next((i + 1 for i, c, depth in _unquoted(text, start) if c == "}" and depth == 0), len(text))


def _jsx_attrs(body: str) -> dict[str, str]:
    """Attributes of a JSX tag body: name="v", name='v', name={expr} (string literals unquoted), bare name."""
    attrs: dict[str, str] = {}
    i = 0
    name_re = re.compile(r"[A-Za-z_$][\w$:.-]*")
    while m := name_re.search(body, i):  # what is not a name (spaces, "/", stray characters) is skipped
        name, i = m.group(0), m.end()
        j = i
        while j < len(body) and body[j].isspace():
            j += 1
        if j >= len(body) or body[j] != "=":
            attrs[name] = ""
            continue
        j += 1
        while j < len(body) and body[j].isspace():
            j += 1
        if j < len(body) and body[j] in "\"'":
            end = body.find(body[j], j + 1)
            end = len(body) if end < 0 else end
            attrs[name], i = body[j + 1:end], end + 1
        elif j < len(body) and body[j] == "{":
            end = _braced(body, j)
            expr = body[j + 1:end - 1].strip()
            lit = re.fullmatch(r"""(["'`])(.*)\1""", expr, re.DOTALL)
            attrs[name], i = (lit.group(2) if lit else expr), end
        else:
            m = re.match(r"[^\s/>]*", body[j:])
            attrs[name], i = m.group(0), j + m.end()
    return attrs


_STR = r"""(?:"(?P<{0}d>[^"]*)"|'(?P<{0}s>[^']*)'|`(?P<{0}b>[^`]*)`)"""
_LABEL = re.compile(r"\blabel\s*:\s*" + _STR.format("l"))
_VALUE = re.compile(r"\bvalue\s*:\s*" + _STR.format("v"))


def _str_group(m: re.Match, prefix: str) -> str:
    return next(g for g in (m[prefix + "d"], m[prefix + "s"], m[prefix + "b"]) if g is not None)


def _tab_values(expr: str) -> dict[str, str]:
    """value -> label from a Tabs values expression such as [{label: "NodeJS", value: "nodejs"}, ...]."""
    mapping: dict[str, str] = {}
    for obj in re.finditer(r"\{([^{}]*)\}", expr):
        label, value = _LABEL.search(obj.group(1)), _VALUE.search(obj.group(1))
        if label and value:
            mapping[_str_group(value, "v")] = _str_group(label, "l")
    return mapping


class _TabTracker:
    """Follows <Tabs>/<TabItem> open and close tags across the non-code lines of a page."""

    def __init__(self) -> None:
        self.tabs: list[dict[str, str]] = []           # value -> label, per open <Tabs>
        self.items: list[tuple[str, str | None, int]] = []   # (label, value, depth of self.tabs when opened)
        self.pending = ""                                    # an unfinished tag, carried to the next line
        self.pending_lines = 0

    @property
    def current(self) -> str | None:
        """The label of the innermost open <TabItem>, or None."""
        return self.items[-1][0] if self.items else None

    @property
    def current_value(self) -> str | None:
        return self.items[-1][1] if self.items else None

    def drop_pending(self) -> None:
        self.pending, self.pending_lines = "", 0

    def feed(self, line: str) -> None:
        if self.pending:
            text = self.pending + "\n" + line
            self.drop_pending()
            self._scan(text)
        else:
            self._scan(line)

    def _scan(self, text: str) -> None:
        pos = 0
        while found := _TAG_OR_CODE.search(text, pos):
            pos, c = found.start(), found.group(0)
            if c == "`":                               # inline code: skip a matching backtick run on the line
                run = len(text) - len(text[pos:].lstrip("`"))
                n = run - pos
                m = re.compile(rf"(?<!`)`{{{n}}}(?!`)").search(text, run)
                pos = m.end() if m else run
                continue
            m = _TAG_START.match(text, pos)
            if not m:
                pos += 1
                continue
            end = _tag_end(text, m.end())
            if end is None:
                self.pending, self.pending_lines = text[pos:], text[pos:].count("\n") + 1
                if self.pending_lines > _MAX_PENDING_LINES:   # not a tag after all
                    self.drop_pending()
                return
            body = text[m.end():end - 1]
            self._tag(m["name"], bool(m["close"]), body.rstrip().endswith("/"), _jsx_attrs(body))
            pos = end

    def _tag(self, name: str, closing: bool, self_closing: bool, attrs: dict[str, str]) -> None:
        if name == "Tabs":
            if closing:
                if self.tabs:
                    depth = len(self.tabs)
                    while self.items and self.items[-1][2] >= depth:
                        self.items.pop()
                    self.tabs.pop()
            elif not self_closing:
                self.tabs.append(_tab_values(attrs.get("values", "")))
            return
        if closing:
            if self.items:
                self.items.pop()
            return
        if self_closing:
            return
        value = attrs.get("value")
        label = (self.tabs[-1].get(value) if self.tabs and value is not None else None) or attrs.get("label") or value
        self.items.append((label or "", value, len(self.tabs)))


# --- scraped pages ----------------------------------------------------------------------------------------

_CODE_LIKE = [
    re.compile(r"^\s*(?:const|let|var|import|export|func|package|def|class|async function|function)\s"),
    re.compile(r"^\s*from\s+\S+\s+import\s"),
    re.compile(r"\$\("),
    re.compile(r"\{\s*$"),
    re.compile(r"^\s*\$ \S"),
]
_HEADING_ARTEFACT = [
    re.compile(r"^[^\s#].{0,100}[^\s#]#\s*$"),      # "Server configuration#": the rendered anchor link
    re.compile(r"Direct link to", re.IGNORECASE),
]


def _front_matter_end(lines: list[str]) -> int:
    """Index of the first line after a leading YAML front matter block (0 when there is none)."""
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                return i + 1
    return 0


def _no_snippet_reason(lines: list[str], has_front_matter: bool) -> str:
    if has_front_matter or any(re.search(r"</?(?:Tabs|TabItem)\b", line) for line in lines):
        return NO_FENCES_REASON
    for line in lines:
        if any(p.search(line) for p in _CODE_LIKE) or any(p.search(line) for p in _HEADING_ARTEFACT):
            return SCRAPED_REASON
    return NO_FENCES_REASON



# --- entry points -----------------------------------------------------------------------------------------

def markdown_snippets(lines: list[str], name: str, start: int = 0) -> list[Snippet]:
    """The fenced snippets of `lines` from index `start` (line numbers count from the first of `lines`)."""
    tracker = _TabTracker()
    snippets: list[Snippet] = []
    heading = ""
    i = start
    while i < len(lines):
        fence = _open_fence(lines[i])
        if fence is None:
            atx = _ATX.match(lines[i])
            if atx and (atx[2] or "").strip():
                heading = heading_text(atx[2])
            elif (_SETEXT.match(lines[i]) and i > start and lines[i - 1].strip()
                  and not _ATX.match(lines[i - 1]) and not _open_fence(lines[i - 1])
                  and not lines[i - 1].lstrip().startswith(("<", "|", "-", "*", ">"))):
                heading = heading_text(lines[i - 1])
            tracker.feed(lines[i])
            i += 1
            continue
        tracker.drop_pending()
        indent, marker, info = fence
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not _closes(lines[j], marker):
            body.append(_dedent(lines[j], indent))
            j += 1
        word, attrs = _split_info(info)
        language = word or tab_language(tracker.current, tracker.current_value)
        snippets.append(Snippet(page=name, index=len(snippets) + 1, line=i + 1, language=language,
                                info=info.strip(), attrs=attrs, tab=tracker.current,
                                code="".join(b + "\n" for b in body), heading=heading))
        i = j + 1
    return snippets


def extract_markdown(text: str, name: str) -> Page:
    """Every fenced snippet of a Markdown/MDX page given as text (path = Path(name))."""
    lines = page_lines(text)
    start = _front_matter_end(lines)
    snippets = markdown_snippets(lines, name, start)
    reason = None if snippets else _no_snippet_reason(lines[start:], start > 0)
    return Page(path=Path(name), name=name, snippets=snippets, no_snippet_reason=reason)
