"""One ILP line into a row dict: a fast path for the common text line, and a scanner for any line.

Both are compiled from grammar.py. Parsed rows are JSON-ready dicts::

    {"table": "cpu",
     "symbols": {"host": "a"},                                  # tags, in order
     "columns": {"usage": {"type": "float", "value": 1.5},     # fields, in order
                 "at": {"type": "timestamp", "value": 5, "unit": "us"}},
     "timestamp": {"value": 1700000000000000000, "unit": "ns"}}  # or None

Values are typed as values.py and binary.py say. Decisions where the protocol leaves room:

* A row needs a table name and at least one field or tag.  A tags-only row cannot carry a
  designated timestamp: in "t,a=b 123" the "123" is read as a field with no "=", which is an error
  (as in QuestDB's own parser).
* Sections are separated by exactly one space.
* An empty tag value is an empty-string symbol; an empty field value is an error.  An unescaped
  "=" in a table name or tag value is an error, so "==" is binary only in a field.
* The same name twice among the tags, or among the fields, keeps its first value.  A tag and a
  field of one name are both returned: what the server then keeps (the tag), and every rule that
  needs the server's tables, is tables.py's.
* Error offsets are 0-based character offsets into the decoded line ("at char N"); in a line with a
  binary value, and for invalid UTF-8, they are byte offsets ("at byte N").
"""

from __future__ import annotations

import operator
from typing import NoReturn

from . import binary, grammar, values
from .errors import BadValue, IlpLineError
from .values import UNIT_BY_SUFFIX, decimal_float, field_value, int64_of_digits

_LINE_RE = grammar.text_pattern(grammar.LINE)
_TAG_RE = grammar.text_pattern(grammar.TAG)
_FIELD_RE = grammar.text_pattern(grammar.TYPED_FIELD)
_NAME_RUN_RE = grammar.text_pattern(grammar.NAME_RUN)
_STRING_RUN_RE = grammar.text_pattern(grammar.STRING_RUN)
_RAW_VALUE_RE = grammar.text_pattern(grammar.RAW_VALUE_RUN)
_ESCAPE_RE = grammar.text_pattern(r"\\(.)")
_ESCAPED_CHAR = operator.itemgetter(1)  # the character after the backslash; in C, unlike a template
_BINARY_MARK = (grammar.BINARY_MARK * 2).encode()
_INFINITIES = (float("inf"), float("-inf"))


def parse_line(line: bytes) -> dict:
    """Parse one ILP line (without its line end) into a row dict.

    Accepts bytes or bytearray.  Raises IlpLineError if the line is malformed.
    """
    if _BINARY_MARK in line:  # perhaps a binary value: scan the bytes, one character each
        return _Scanner(line).row()
    return parse_text(line)


def parse_text(line: bytes) -> dict:
    """parse_line for a line known to hold no "==", so no binary value."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IlpLineError(f"invalid UTF-8 (at byte {exc.start})", exc.start) from None
    return match_line(text) or _Scanner(line, text).row()


def field_texts(line: bytes) -> dict[str, str | None]:
    """Each field's value as it was written, the first of each name: escapes resolved, a string's
    content without its quotes, None for a binary value. What a SYMBOL column keeps of a value
    (tables.py); `line` is one that parse_line accepts."""
    scanner = _Scanner(line)
    scanner.texts = {}
    scanner.row()
    return scanner.texts


def scan(line: bytes | str) -> dict:
    """The scanner alone, on a line or its text (parse_line takes the fast path first)."""
    if isinstance(line, str):
        return _Scanner(line.encode("utf-8"), line).row()
    return _Scanner(line).row() if _BINARY_MARK in line else _Scanner(line, bytes(line).decode("utf-8")).row()


def _unescape(text: str) -> str:
    return _ESCAPE_RE.sub(_ESCAPED_CHAR, text) if "\\" in text else text


def match_line(text: str) -> dict | None:
    """Fast path: a text line whose whole shape one regular expression accepts.

    The regex engine finds the names, strings and raw values (escapes included); Python only
    unescapes and types the values.  Returns None for anything else, including every error and a
    row with tags only: the scanner then decides, and words the error.
    """
    line = _LINE_RE.fullmatch(text)
    if line is None:
        return None
    symbols = {}
    if line.group(2):
        for key, value in _TAG_RE.findall(text, line.start(2), line.end(2)):
            symbols.setdefault(_unescape(key), _unescape(value))  # a name given twice keeps its first value
    columns = {}
    try:
        for key, quoted, integer, stamp, unit, number, other in _FIELD_RE.findall(text, line.start(3), line.end(3)):
            if "\\" in key:
                key = _unescape(key)
            # Every value is typed, even one whose name came before: an invalid value refuses the line.
            if quoted:
                column = {"type": "string", "value": _unescape(quoted[1:])}
            elif integer:  # up to 18 digits always fit 64 bits: int() alone, without a call
                column = {"type": "integer",
                          "value": int(integer) if len(integer) < 19 else int64_of_digits(integer, "integer")}
            elif number:
                value = float(number)  # only 0 and infinity need decimal_float's range checks
                column = {"type": "float", "value": value if 0.0 != value not in _INFINITIES else decimal_float(number)}
            elif stamp:
                column = {"type": "timestamp", "value": int64_of_digits(stamp, "timestamp"),
                          "unit": UNIT_BY_SUFFIX[unit]}
            else:
                column = field_value(other)
            columns.setdefault(key, column)  # a name given twice keeps its first value
        stamp, unit = line.group(4, 5)
        timestamp = None
        if stamp is not None:
            timestamp = {"value": int64_of_digits(stamp, "timestamp"),
                         "unit": UNIT_BY_SUFFIX.get(unit, "ns")}
            if unit == "n":
                timestamp["suffix"] = "n"
    except BadValue:
        return None
    return {"table": _unescape(line.group(1)), "symbols": symbols, "columns": columns, "timestamp": timestamp}


class _Scanner:
    """Character scanner for any line: handles escapes, strings and binary values, and words errors.

    Without `text` (a line that may hold binary values) it reads the bytes one character each
    (latin-1), so that positions are byte positions and a binary value is read from the bytes; its
    names and texts are then decoded as UTF-8 one by one.  With `texts` set to a dict it also records
    each field's text there (field_texts)."""

    def __init__(self, line: bytes, text: str | None = None) -> None:
        self.data = line
        self.bytewise = text is None
        self.text = line.decode("latin-1") if text is None else text
        self.unit = "byte" if self.bytewise else "char"
        self.texts: dict | None = None
        self.binary_spans: list[tuple[int, int]] = []

    def fail(self, problem: str, offset: int) -> NoReturn:
        if self.bytewise:
            self._check_utf8(offset)  # invalid UTF-8 before the problem is the first error
        raise IlpLineError(f"{problem} (at {self.unit} {offset})", offset)

    def _check_utf8(self, upto: int) -> None:
        start = 0
        for begin, end in [*self.binary_spans, (upto, upto)]:
            try:
                bytes(self.data[start:min(begin, upto)]).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IlpLineError(f"invalid UTF-8 (at byte {start + exc.start})", start + exc.start) from None
            start = end
            if start >= upto:
                return

    def decoded(self, text: str) -> str:
        """A name or text as the line means it: bytes read one character each are UTF-8."""
        if not self.bytewise or text.isascii():
            return text
        try:
            return text.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            return text  # reported by _check_utf8, with its position, before the row is returned

    def row(self) -> dict:
        text = self.text
        if not text:
            self.fail("empty line", 0)
        end = len(text)

        table, pos = self.read_name(0, "table name")
        if not table:
            self.fail("missing table name", 0)
        if pos < end and text[pos] == "=":
            self.fail("unescaped '=' in table name", pos)

        symbols = {}
        while pos < end and text[pos] == ",":
            key_pos = pos + 1
            if key_pos == end or text[key_pos] == " ":  # a comma ending the tags is allowed ("t,a=b, x=1")
                pos = key_pos
                break
            key, pos = self.read_name(key_pos, "tag key")
            if not key:
                self.fail("empty tag key", key_pos)
            if pos == end or text[pos] != "=":
                self.fail(f"missing '=' after tag key {key!r}", pos)
            value, pos = self.read_name(pos + 1, f"value of tag {key!r}")
            if pos < end and text[pos] == "=":
                self.fail(f"unescaped '=' in value of tag {key!r}", pos)
            symbols.setdefault(key, value)

        # pos is now at the end of the line or at the space before the fields.
        if not text[pos:].strip(" "):
            if not symbols:
                self.fail("line has no fields or tags", pos)
            columns, timestamp = {}, None
        else:
            columns, pos = self.read_fields(pos + 1)
            timestamp = self.read_designated_timestamp(pos)
        if self.bytewise:
            self._check_utf8(end)
        return {"table": table, "symbols": symbols, "columns": columns, "timestamp": timestamp}

    def read_name(self, pos: int, what: str) -> tuple[str, int]:
        """Read a name (table, tag key or value, field key) starting at pos.

        Stops at the first unescaped space, comma or equals sign, or at the end of
        the line; returns the unescaped name and the position where it stopped.
        """
        text = self.text
        pieces = []
        while True:
            run = _NAME_RUN_RE.match(text, pos)
            pieces.append(run.group())
            pos = run.end()
            if pos == len(text) or text[pos] in grammar.NAME_STOP:
                return self.decoded("".join(pieces)), pos
            if text[pos] == grammar.ESCAPE:
                if pos + 1 == len(text):
                    self.fail(f"backslash at end of line in {what}", pos)
                escaped = text[pos + 1]
                if escaped in grammar.LINE_END:
                    self.fail(f"line end character in {what}", pos + 1)
                pieces.append(escaped)
                pos += 2
            else:
                self.fail(f"line end character in {what}", pos)

    def read_fields(self, pos: int) -> tuple[dict, int]:
        """Read the comma-separated fields starting at pos.

        Returns the columns and the position just after them (end of line or the
        space before the timestamp).  A name given twice keeps its first value.
        """
        text = self.text
        end = len(text)
        columns = {}
        while True:
            key_pos = pos
            key, pos = self.read_name(pos, "field key")
            if not key:
                self.fail("empty field key", key_pos)
            if pos == end or text[pos] != "=":
                hint = " (a designated timestamp needs at least one field)" if not columns else ""
                self.fail(f"missing '=' after field key {key!r}{hint}", pos)
            value_pos = pos + 1
            if text.startswith(grammar.QUOTE, value_pos):
                value, pos = self.read_string(value_pos, key)
                if pos < end and text[pos] not in grammar.VALUE_STOP:
                    self.fail(f"unexpected character after string value of field {key!r}", pos)
                column = {"type": "string", "value": value}
                raw = value
            elif self.bytewise and text.startswith(grammar.BINARY_MARK, value_pos):
                column, pos = self.read_binary(value_pos + 1, key)
                raw = None
            else:
                pos = _RAW_VALUE_RE.match(text, value_pos).end()
                if pos < end and text[pos] in grammar.LINE_END:
                    self.fail(f"line end character in value of field {key!r}", pos)
                raw = self.decoded(_unescape(text[value_pos:pos]))  # a backslash escapes here too: a=\1i is 1i
                try:
                    column = values.field_value(raw)
                except BadValue as exc:
                    self.fail(f"{exc} in field {key!r}: {raw!r}", value_pos)
            columns.setdefault(key, column)
            if self.texts is not None:
                self.texts.setdefault(key, raw)
            if pos == end or text[pos] == " ":
                return columns, pos
            pos += 1  # skip the comma
            if pos == end or text[pos] == " ":  # a comma ending the fields is allowed ("t x=1,")
                return columns, pos

    def read_binary(self, pos: int, key: str) -> tuple[dict, int]:
        """The binary value whose type byte is at pos, and the position after it."""
        if pos == len(self.text):
            self.fail(f"binary value of field {key!r} has no type byte", pos)
        self._check_utf8(pos)  # the text before it
        column, after = binary.decode(self.data, pos, key)
        self.binary_spans.append((pos, after))
        if after < len(self.text) and self.text[after] not in grammar.VALUE_STOP:
            self.fail(f"unexpected byte after binary value of field {key!r}", after)
        return column, after

    def read_string(self, quote_pos: int, key: str) -> tuple[str, int]:
        """Read the quoted string whose opening quote is at quote_pos.

        Returns the unescaped string and the position just after the closing quote.
        """
        text = self.text
        pieces = []
        pos = quote_pos + 1
        while True:
            run = _STRING_RUN_RE.match(text, pos)
            pieces.append(run.group())
            pos = run.end()
            if pos == len(text):
                self.fail(f"unterminated string in field {key!r}", quote_pos)
            char = text[pos]
            if char == grammar.QUOTE:
                return self.decoded("".join(pieces)), pos + 1
            if char == grammar.ESCAPE:
                if pos + 1 == len(text):
                    self.fail(f"unterminated string in field {key!r}", quote_pos)
                # The escaped character is taken as is, even a line end.
                pieces.append(text[pos + 1])
                pos += 2
            else:
                self.fail(f"unescaped line end inside string of field {key!r}", pos)

    def read_designated_timestamp(self, pos: int) -> dict | None:
        """Read the optional timestamp after the space at pos; trailing spaces are fine."""
        text = self.text
        if pos == len(text):
            return None
        rest = text[pos + 1:]
        if not rest.strip(" "):
            return None
        token, space, _ = rest.partition(" ")
        token_pos = pos + 1
        if not token:
            self.fail("more than one space before the timestamp", token_pos)
        if space:  # even a trailing space: QuestDB refuses the line
            self.fail("unexpected text after the timestamp", token_pos + len(token))
        try:
            return values.designated_timestamp(token)
        except BadValue as exc:
            self.fail(f"{exc}: {token!r}", token_pos)
