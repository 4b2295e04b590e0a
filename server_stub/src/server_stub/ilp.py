"""InfluxDB Line Protocol (ILP) rows, as QuestDB's ILP-over-TCP server reads them.

One row per line; the rules are QuestDB 9.3.4's as the differential run measured them
(`nox -s diff`, server_stub/PROTOCOL.md section 6)::

    row        = table {"," tag} [","] [" " field {"," field} [","] [" " timestamp]] {" "}
                 (trailing spaces only when there is no timestamp)
    tag        = name "=" name                  (tag value may be empty)
    field      = name "=" value

    name       = run of characters up to the first unescaped " ", "," or "=";
                 a backslash makes the next character literal ("\\ ", "\\,",
                 "\\=", "\\\\"); a name can never hold a line end character

    value      = integer | long256 | float | string | boolean | timestamp column
                 (a backslash escapes a character of an unquoted value too)
    integer    = ["-"] digits "i"                      64-bit signed; "_" between digits
    long256    = "0x" 1-64 hex digits "i"
    float      = ["+"|"-"] (digits ["." [digits]] | "." digits) [("e"|"E") ["+"|"-"] digits]
               | ["+"|"-"] ("NaN" | "Infinity")        (a bare "123" is a float; one that
                                                       overflows or underflows to zero
                                                       is an error)
    string     = '"' {character | "\\" character} '"' backslash makes the next
                                                       character literal, even a
                                                       line end; a raw CR belongs to
                                                       the string, a raw LF is an error
    boolean    = t | f | true | false                   in any mix of case
    column ts  = ["-"] digits ("t" | "n" | "m")         microseconds | nanoseconds | milliseconds
    timestamp  = ["-"] digits ["n" | "t" | "m"]         designated timestamp; bare means nanoseconds

Lines end at LF or CR, so CR LF gives an empty line in between; empty lines are
skipped.  A double quote opens a string only right after the "=" of a field, and
inside such a string an escaped LF or CR, or a raw CR, belongs to the string, so
splitting a stream into lines has to know where strings are (see IlpStream).

Parsed rows are JSON-ready dicts::

    {"table": "cpu",
     "symbols": {"host": "a"},                                  # tags, in order
     "columns": {"usage": {"type": "float", "value": 1.5},     # fields, in order
                 "at": {"type": "timestamp", "value": 5, "unit": "us"}},
     "timestamp": {"value": 1700000000000000000, "unit": "ns"}}  # or None

Non-finite floats are the strings "NaN", "Infinity" and "-Infinity" so that the
row stays valid JSON.  A designated timestamp written with the "n" suffix has
"suffix": "n" too (QuestDB then keeps nanoseconds).  Decisions where the protocol
leaves room:

* A row needs a table name and at least one field or tag.  A tags-only row
  cannot carry a designated timestamp: in "t,a=b 123" the "123" is read as a
  field with no "=", which is an error (as in QuestDB's own parser).
* Sections are separated by exactly one space.
* An empty tag value is an empty-string symbol; an empty field value is an
  error.  An unescaped "=" in a table name or tag value is an error.
* The same name twice among the tags, or among the fields, keeps its first
  value.  A tag and a field of one name are both returned: what the server then
  keeps (the tag), and every rule that needs the server's tables, is tables.py's.
* Error offsets are 0-based character offsets into the decoded line, except for
  invalid UTF-8, which is reported by byte offset.
"""

from __future__ import annotations

import math
import operator
import re
from typing import NoReturn

__all__ = ["IlpLineError", "IlpStream", "field_texts", "format_row", "parse_line"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Looked up in lower case: QuestDB takes t, f, true and false in any mix of case (tRuE too).
_BOOLEANS = {"t": True, "true": True, "f": False, "false": False}
_NON_FINITE_FLOATS = ("NaN", "Infinity", "-Infinity")
# How they may be written: a sign is allowed before either (-NaN is NaN).
_NON_FINITE_SPELLINGS = {"NaN": "NaN", "+NaN": "NaN", "-NaN": "NaN",
                         "Infinity": "Infinity", "+Infinity": "Infinity", "-Infinity": "-Infinity"}
_LONG256_RE = re.compile(r"0x[0-9a-fA-F]{1,64}")
_UNDERSCORED_RE = re.compile(r"[0-9]+(?:_[0-9]+)*")
# Timestamp units by the suffix after the digits, for timestamp columns and
# the designated timestamp alike (which without a suffix is in nanoseconds).
_UNIT_BY_SUFFIX = {"n": "ns", "t": "us", "m": "ms"}
_SUFFIX_BY_UNIT = {"ns": "n", "us": "t", "ms": "m"}

# [0-9] rather than \d: \d would also accept non-ASCII digits such as "٣".
_FLOAT_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NONZERO_MANTISSA_RE = re.compile(r"[^eE]*[1-9]")
# Runs of characters that need no attention in the character scanner.
_NAME_RUN_RE = re.compile(r"[^ ,=\\\n\r]*")
_STRING_RUN_RE = re.compile(r'[^"\\\n]*')
_RAW_VALUE_RE = re.compile(r"[^, \n\r]*")

_NAME_ESCAPES = str.maketrans({"\\": "\\\\", " ": "\\ ", ",": "\\,", "=": "\\="})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\\n", "\r": "\\\r"})


class IlpLineError(ValueError):
    """A malformed ILP line.

    The message says what is wrong and where; ``offset`` is the same position
    as a number (character offset, or byte offset for invalid UTF-8).
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class _BadValue(Exception):
    """A value's text has no valid form; the caller adds where it was."""


def _fail(problem: str, offset: int) -> NoReturn:
    raise IlpLineError(f"{problem} (at char {offset})", offset)


# ---------------------------------------------------------------------------
# Values


def _int64(digits: str, what: str) -> int:
    # ASCII digits after an optional minus, with "_" allowed between digits as QuestDB allows (1_000i):
    # int() alone would also take "+1", " 1" and non-ASCII digits such as "٣".
    unsigned = digits.removeprefix("-")
    if "_" in unsigned:
        if not _UNDERSCORED_RE.fullmatch(unsigned):  # one "_" at a time, with a digit on each side
            raise _BadValue(f"invalid {what}")
        unsigned = unsigned.replace("_", "")
        digits = "-" + unsigned if digits[:1] == "-" else unsigned
    if not (unsigned.isascii() and unsigned.isdigit()):
        raise _BadValue(f"invalid {what}")
    return _int64_of_digits(digits, what)


def _int64_of_digits(digits: str, what: str) -> int:
    """digits: ASCII digits after an optional minus (checked by the caller or its regex)."""
    if len(digits) < 19:  # at most 18 digits: always in range
        return int(digits)
    # Leading zeros do not count (QuestDB takes 00000000000000000000001i); anything longer than
    # "-9223372036854775808" after them is out of range, and checking the length first keeps int()
    # away from its limit on huge digit strings.
    sign, unsigned = ("-", digits[1:]) if digits[:1] == "-" else ("", digits)
    unsigned = unsigned.lstrip("0") or "0"
    value = int(sign + unsigned) if len(unsigned) <= 19 else INT64_MAX + 1
    if not INT64_MIN <= value <= INT64_MAX:
        raise _BadValue(f"{what} out of 64-bit signed range")
    return value


def _float(text: str) -> float:
    """A decimal float's value; one too large for a double, or too small to be anything but zero,
    is refused, as QuestDB refuses it (1e309, 1e-400)."""
    value = float(text)
    if math.isinf(value):
        raise _BadValue("float out of range")
    if value == 0.0 and _NONZERO_MANTISSA_RE.match(text):
        raise _BadValue("float out of range (too small)")
    return value


def _json_float(value: float) -> float | str:
    """A float as JSON can carry it: non-finite values become strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _parse_field_value(text: str) -> dict:
    """Type a field value (anything but a quoted string) by its form."""
    # Booleans first: "t" and "f" would otherwise look like unit suffixes.
    boolean = _BOOLEANS.get(text.lower())
    if boolean is not None:
        return {"type": "boolean", "value": boolean}
    suffix = text[-1:]
    if suffix == "i":
        if _LONG256_RE.fullmatch(text, 0, len(text) - 1):  # 0x10i: a LONG256 column
            return {"type": "long256", "value": text[:-1]}
        return {"type": "integer", "value": _int64(text[:-1], "integer")}
    if suffix in _UNIT_BY_SUFFIX:
        value = _int64(text[:-1], "timestamp")
        return {"type": "timestamp", "value": value, "unit": _UNIT_BY_SUFFIX[suffix]}
    if _FLOAT_RE.fullmatch(text):
        return {"type": "float", "value": _float(text)}
    if text in _NON_FINITE_SPELLINGS:
        return {"type": "float", "value": _NON_FINITE_SPELLINGS[text]}
    raise _BadValue("unknown value form")


def _parse_timestamp(text: str) -> dict:
    """The designated timestamp: digits with an optional n/t/m unit. A bare one is nanoseconds too,
    but only the written `n` makes QuestDB keep nanoseconds (a TIMESTAMP_NS column): "suffix" says so."""
    unit = _UNIT_BY_SUFFIX.get(text[-1:])
    if unit is None:
        return {"value": _int64(text, "timestamp"), "unit": "ns"}
    stamp = {"value": _int64(text[:-1], "timestamp"), "unit": unit}
    if unit == "ns":
        stamp["suffix"] = "n"
    return stamp


# ---------------------------------------------------------------------------
# Parsing a line


def parse_line(line: bytes) -> dict:
    """Parse one ILP line (without its line end) into a row dict.

    Accepts bytes or bytearray.  Raises IlpLineError if the line is malformed.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IlpLineError(f"invalid UTF-8 (at byte {exc.start})", exc.start) from None
    return _parse_matched(text) or _parse_scanned(text)


# The fast path's grammar as regular expressions (see the module docstring), written as "unrolled
# loops" (a run of plain characters, then any number of escape + run) so that the regex engine
# does not backtrack per character.  DOTALL: inside a string, backslash + any character takes an
# escaped line end too.  _LINE_RE's groups are the line's sections only: table, tags, fields,
# designated timestamp digits and unit.
_NAME = r"(?=[^ ,=\n\r])[^ ,=\\\n\r]*(?:\\[^\n\r][^ ,=\\\n\r]*)*"
_TAG_VALUE = r"[^ ,=\\\n\r]*(?:\\[^\n\r][^ ,=\\\n\r]*)*"
_STRING_BODY = r'[^"\\\n]*(?:\\.[^"\\\n]*)*'
_RAW = r'[^ ,"\\\n\r]+'
_FIELD = f'{_NAME}=(?:"{_STRING_BODY}"|{_RAW})'
_LINE_RE = re.compile(
    rf"({_NAME})((?:,{_NAME}={_TAG_VALUE})*) ({_FIELD}(?:,{_FIELD})*)(?: (-?[0-9]+)([ntm]?)| *)", re.DOTALL
)
_TAG_RE = re.compile(rf",({_NAME})=({_TAG_VALUE})", re.DOTALL)
# One field, its value typed by which group matched: a string (with its opening quote, so that
# "" is told from no match), an integer, a timestamp column, a float; anything else (booleans,
# NaN, errors) goes to _parse_field_value.  (?![^, ]): the typed forms must fill the whole value.
_TYPED_END = "(?![^, ])"
_FIELD_RE = re.compile(
    f'({_NAME})=(?:("{_STRING_BODY})"|(-?[0-9]+)i{_TYPED_END}|(-?[0-9]+)([tnm]){_TYPED_END}'
    f"|({_FLOAT_RE.pattern}){_TYPED_END}|({_RAW}))",
    re.DOTALL,
)
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED_CHAR = operator.itemgetter(1)  # the character after the backslash; in C, unlike a template


def _unescape(text: str) -> str:
    return _ESCAPE_RE.sub(_ESCAPED_CHAR, text) if "\\" in text else text


def _parse_matched(text: str) -> dict | None:
    """Fast path: a line whose whole shape one regular expression accepts.

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
            elif integer:
                column = {"type": "integer", "value": _int64_of_digits(integer, "integer")}
            elif number:
                column = {"type": "float", "value": _float(number)}
            elif stamp:
                column = {"type": "timestamp", "value": _int64_of_digits(stamp, "timestamp"),
                          "unit": _UNIT_BY_SUFFIX[unit]}
            else:
                column = _parse_field_value(other)
            columns.setdefault(key, column)  # a name given twice keeps its first value
        stamp, unit = line.group(4, 5)
        timestamp = None
        if stamp is not None:
            timestamp = {"value": _int64_of_digits(stamp, "timestamp"), "unit": _UNIT_BY_SUFFIX.get(unit, "ns")}
            if unit == "n":
                timestamp["suffix"] = "n"
    except _BadValue:
        return None
    return {"table": _unescape(line.group(1)), "symbols": symbols, "columns": columns, "timestamp": timestamp}


def field_texts(line: bytes) -> dict[str, str]:
    """Each field's value as it was written, the first of each name: escapes resolved, a string's
    content without its quotes. What a SYMBOL column keeps of a value (tables.py); `line` is one that
    parse_line accepts."""
    texts: dict[str, str] = {}
    _parse_scanned(bytes(line).decode("utf-8"), texts)
    return texts


def _parse_scanned(text: str, texts: dict | None = None) -> dict:
    """Character scanner for any line: handles escapes and strings, and words errors. With `texts`,
    it also records each field's text there (field_texts)."""
    if not text:
        _fail("empty line", 0)
    end = len(text)

    table, pos = _read_name(text, 0, "table name")
    if not table:
        _fail("missing table name", 0)
    if pos < end and text[pos] == "=":
        _fail("unescaped '=' in table name", pos)

    symbols = {}
    while pos < end and text[pos] == ",":
        key_pos = pos + 1
        if key_pos == end or text[key_pos] == " ":  # a comma ending the tags is allowed ("t,a=b, x=1")
            pos = key_pos
            break
        key, pos = _read_name(text, key_pos, "tag key")
        if not key:
            _fail("empty tag key", key_pos)
        if pos == end or text[pos] != "=":
            _fail(f"missing '=' after tag key {key!r}", pos)
        value, pos = _read_name(text, pos + 1, f"value of tag {key!r}")
        if pos < end and text[pos] == "=":
            _fail(f"unescaped '=' in value of tag {key!r}", pos)
        symbols.setdefault(key, value)

    # pos is now at the end of the line or at the space before the fields.
    if not text[pos:].strip(" "):
        if not symbols:
            _fail("line has no fields or tags", pos)
        return {"table": table, "symbols": symbols, "columns": {}, "timestamp": None}

    columns, pos = _read_fields(text, pos + 1, texts)
    timestamp = _read_designated_timestamp(text, pos)
    return {"table": table, "symbols": symbols, "columns": columns, "timestamp": timestamp}


def _read_name(text: str, pos: int, what: str) -> tuple[str, int]:
    """Read a name (table, tag key or value, field key) starting at pos.

    Stops at the first unescaped space, comma or equals sign, or at the end of
    the line; returns the unescaped name and the position where it stopped.
    """
    pieces = []
    while True:
        run = _NAME_RUN_RE.match(text, pos)
        pieces.append(run.group())
        pos = run.end()
        if pos == len(text) or text[pos] in " ,=":
            return "".join(pieces), pos
        if text[pos] == "\\":
            if pos + 1 == len(text):
                _fail(f"backslash at end of line in {what}", pos)
            escaped = text[pos + 1]
            if escaped in "\n\r":
                _fail(f"line end character in {what}", pos + 1)
            pieces.append(escaped)
            pos += 2
        else:
            _fail(f"line end character in {what}", pos)


def _read_fields(text: str, pos: int, texts: dict | None = None) -> tuple[dict, int]:
    """Read the comma-separated fields starting at pos.

    Returns the columns and the position just after them (end of line or the
    space before the timestamp).  A name given twice keeps its first value.
    """
    end = len(text)
    columns = {}
    while True:
        key_pos = pos
        key, pos = _read_name(text, pos, "field key")
        if not key:
            _fail("empty field key", key_pos)
        if pos == end or text[pos] != "=":
            hint = " (a designated timestamp needs at least one field)" if not columns else ""
            _fail(f"missing '=' after field key {key!r}{hint}", pos)
        value_pos = pos + 1
        if text.startswith('"', value_pos):
            value, pos = _read_string(text, value_pos, key)
            if pos < end and text[pos] not in ", ":
                _fail(f"unexpected character after string value of field {key!r}", pos)
            column = {"type": "string", "value": value}
            raw = value
        else:
            pos = _RAW_VALUE_RE.match(text, value_pos).end()
            if pos < end and text[pos] in "\n\r":
                _fail(f"line end character in value of field {key!r}", pos)
            raw = _unescape(text[value_pos:pos])  # a backslash escapes here too: a=\1i is 1i
            try:
                column = _parse_field_value(raw)
            except _BadValue as exc:
                _fail(f"{exc} in field {key!r}: {raw!r}", value_pos)
        columns.setdefault(key, column)
        if texts is not None:
            texts.setdefault(key, raw)
        if pos == end or text[pos] == " ":
            return columns, pos
        pos += 1  # skip the comma
        if pos == end or text[pos] == " ":  # a comma ending the fields is allowed ("t x=1,")
            return columns, pos


def _read_string(text: str, quote_pos: int, key: str) -> tuple[str, int]:
    """Read the quoted string whose opening quote is at quote_pos.

    Returns the unescaped string and the position just after the closing quote.
    """
    pieces = []
    pos = quote_pos + 1
    while True:
        run = _STRING_RUN_RE.match(text, pos)
        pieces.append(run.group())
        pos = run.end()
        if pos == len(text):
            _fail(f"unterminated string in field {key!r}", quote_pos)
        char = text[pos]
        if char == '"':
            return "".join(pieces), pos + 1
        if char == "\\":
            if pos + 1 == len(text):
                _fail(f"unterminated string in field {key!r}", quote_pos)
            # The escaped character is taken as is, even a line end.
            pieces.append(text[pos + 1])
            pos += 2
        else:
            _fail(f"unescaped line end inside string of field {key!r}", pos)


def _read_designated_timestamp(text: str, pos: int) -> dict | None:
    """Read the optional timestamp after the space at pos; trailing spaces are fine."""
    if pos == len(text):
        return None
    rest = text[pos + 1:]
    if not rest.strip(" "):
        return None
    token, space, _ = rest.partition(" ")
    token_pos = pos + 1
    if not token:
        _fail("more than one space before the timestamp", token_pos)
    if space:  # even a trailing space: QuestDB refuses the line
        _fail("unexpected text after the timestamp", token_pos + len(token))
    try:
        return _parse_timestamp(token)
    except _BadValue as exc:
        _fail(f"{exc}: {token!r}", token_pos)


# ---------------------------------------------------------------------------
# Formatting a row


def format_row(row: dict) -> str:
    """Write a row dict as one ILP line, without a line end: the inverse of parse_line.

    Raises ValueError for rows that no line could express (empty table name or
    key, a line end in a name, no fields and no tags, a timestamp without
    fields, an unknown type or unit, an integer outside 64 bits).
    """
    symbols = row.get("symbols") or {}
    columns = row.get("columns") or {}
    timestamp = row.get("timestamp")
    if not symbols and not columns:
        raise ValueError("a row needs at least one field or tag")
    if timestamp is not None and not columns:
        raise ValueError("a designated timestamp needs at least one field")

    parts = [_escape_name(row["table"], "table name")]
    for key, value in symbols.items():
        parts.append(f",{_escape_name(key, 'tag key')}={_escape_name(value, 'tag value', True)}")
    if columns:
        fields = (f"{_escape_name(key, 'field key')}={_format_value(column)}"
                  for key, column in columns.items())
        parts.append(" " + ",".join(fields))
    if timestamp is not None:
        # A bare designated timestamp is nanoseconds: the common form, so ns gets no suffix.
        unit = timestamp["unit"]
        suffix = timestamp.get("suffix") or ("" if unit == "ns" else _unit_suffix(unit))
        parts.append(f" {_format_integer(timestamp['value'])}{suffix}")
    return "".join(parts)


def _escape_name(name: str, what: str, may_be_empty: bool = False) -> str:
    if not name and not may_be_empty:
        raise ValueError(f"empty {what}")
    if "\n" in name or "\r" in name:
        raise ValueError(f"{what} {name!r} holds a line end, which ILP cannot express")
    return name.translate(_NAME_ESCAPES)


def _format_value(column: dict) -> str:
    kind = column["type"]
    value = column["value"]
    if kind == "integer":
        return _format_integer(value) + "i"
    if kind == "float":
        return _format_float(value)
    if kind == "string":
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return _format_integer(value) + _unit_suffix(column["unit"])
    raise ValueError(f"unknown column type {kind!r}")


def _format_integer(value: int) -> str:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{value} is out of 64-bit signed range")
    return str(value)


def _format_float(value: float | str) -> str:
    if isinstance(value, str):
        if value not in _NON_FINITE_FLOATS:
            raise ValueError(f"float value {value!r} is not NaN, Infinity or -Infinity")
        return value
    value = _json_float(float(value))
    # repr gives the shortest text that reads back as the same double.
    return value if isinstance(value, str) else repr(value)


def _unit_suffix(unit: str) -> str:
    try:
        return _SUFFIX_BY_UNIT[unit]
    except KeyError:
        raise ValueError(f"unknown timestamp unit {unit!r}") from None


# ---------------------------------------------------------------------------
# Splitting a byte stream into lines

_BACKSLASH = ord("\\")
_LF = ord("\n")
_CR = ord("\r")


class IlpStream:
    """Turns the bytes of one ILP/TCP connection into rows.

    Like the server, the stream stops at the first malformed line: rows before
    it are kept, and from then on nothing more is parsed or buffered.

    Line numbers in error reports count non-empty lines only, so line N is the
    N-th row the client tried to send (CR LF line ends do not count twice).
    """

    def __init__(self, max_line_bytes: int = 131072, check_row=None) -> None:
        """check_row(row, line), when given, is the server's own treatment of a parsed row and its line
        (its names, its tables' column types: tables.Tables.admit): it returns the row as the server
        stores it (None: unchanged), and raising IlpLineError makes that line an error like a syntax
        error."""
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self.max_line_bytes = max_line_bytes
        self._check_row = check_row
        self._buffer = bytearray()  # the start of the incomplete line
        self._search_from = 0  # the buffer before this holds no unexamined line end
        self._tracker: _QuoteTracker | None = None  # for the incomplete line, made when needed
        self._line_end: int | None = None  # where the current line ends, once _LINE_EXTENT_RE found it
        self._lines_seen = 0
        self._dead = False

    @property
    def pending(self) -> int:
        """Bytes buffered that are not yet a complete line."""
        return len(self._buffer)

    @property
    def dead(self) -> bool:
        """True once a malformed line has stopped the stream."""
        return self._dead

    def feed(self, data: bytes) -> tuple[list[dict], dict | None]:
        """Take the next bytes; return the rows of all lines completed by them.

        The second item is None, or the error that stopped the stream:
        {"line": N, "error": message, "text": the line, at most 200 chars}.
        After an error every later call returns ([], None).
        """
        if self._dead:
            return [], None
        buffer = self._buffer
        buffer += data
        rows: list[dict] = []
        start = 0
        for end in _line_end_positions(buffer, self._search_from):
            if not self._ends_line(buffer, start, end):
                continue  # an escaped line end inside a string
            line = buffer[start:end]
            start = end + 1
            self._tracker = self._line_end = None
            if line:
                error = self._parse_into(line, rows)
                if error is not None:
                    return rows, error
        del buffer[:start]
        self._search_from = len(buffer)
        if len(buffer) > self.max_line_bytes:
            # Fail now rather than wait for a line end: the buffer stays bounded.
            self._lines_seen += 1
            return rows, self._stop(buffer, self._too_long(), deviation="line_limit")
        return rows, None

    def _ends_line(self, buffer: bytearray, start: int, end: int) -> bool:
        """Whether the LF or CR at end really ends the line that began at start."""
        # Inside a string, a backslash-escaped LF or CR belongs to the string, and so does a raw CR
        # (QuestDB keeps it); an unescaped LF always ends the line (inside a string, as an error).
        # Both need a double quote before them.
        if buffer[end] == _LF and (end == start or buffer[end - 1] != _BACKSLASH):
            return True
        if buffer.find(b'"', start, end) < 0:
            return True
        if self._line_end is not None:
            return end == self._line_end
        if self._tracker is None:
            # Where strings are, in one regex pass (in C) when the whole line is in the buffer: the
            # bench profile had the byte-state tracker at 16% of the stub's time on rows whose
            # strings hold escaped newlines.  The pass runs once per line: if the line is not
            # complete yet, the tracker takes over and keeps its state between feeds.
            found = _LINE_EXTENT_RE.match(buffer, start).end()
            if found < len(buffer):  # it stopped at the LF or CR that ends the line
                self._line_end = found
                return end == found
            self._tracker = _QuoteTracker()
        return not self._tracker.line_end_in_string(buffer, start, end)

    def _parse_into(self, line: bytearray, rows: list[dict]) -> dict | None:
        self._lines_seen += 1
        if len(line) > self.max_line_bytes:
            return self._stop(line, self._too_long(), deviation="line_limit")
        try:
            row = parse_line(line)
            if self._check_row is not None:
                row = self._check_row(row, line) or row
            rows.append(row)
        except IlpLineError as exc:
            return self._stop(line, str(exc))
        return None

    def _too_long(self) -> str:
        return f"line too long: more than {self.max_line_bytes} bytes"

    def _stop(self, line: bytearray, message: str, **extra) -> dict:
        self._dead = True
        # 200 characters take at most 800 bytes of UTF-8; decode no more.
        text = bytes(line[:800]).decode("utf-8", errors="replace")[:200]
        self._buffer = bytearray()
        self._search_from = 0
        self._tracker = self._line_end = None
        return {"line": self._lines_seen, "error": message, "text": text, **extra}


def _line_end_positions(buffer: bytearray, pos: int):
    """Yield the position of every LF and CR byte from pos on, in order.

    Each byte is searched only once, so a buffer with many lines stays linear.
    """
    next_lf = buffer.find(b"\n", pos)
    next_cr = buffer.find(b"\r", pos)
    while next_lf >= 0 or next_cr >= 0:
        if next_cr < 0 or 0 <= next_lf < next_cr:
            yield next_lf
            next_lf = buffer.find(b"\n", next_lf + 1)
        else:
            yield next_cr
            next_cr = buffer.find(b"\r", next_cr + 1)


# How far a line goes, with the rules of _QuoteTracker below: escapes everywhere, strings only in the
# fields and only opened by '="'; an escaped line end inside a string belongs to it.  The match stops
# at the LF or CR that ends the line, or at the end of the buffer if the line is not complete.
_LINE_EXTENT_RE = re.compile(
    rb"[^\\ \n\r]*(?:\\[^\n\r][^\\ \n\r]*)*"  # table and tags
    rb'(?: [^\\="\n\r]*(?:(?:\\[^\n\r]|="[^"\\\n]*(?:\\.[^"\\\n]*)*"?|[="])[^\\="\n\r]*)*)?'  # fields
    rb"\\?",  # a backslash just before the line end (it escapes nothing: the line ends)
    re.DOTALL,
)

# What can change the tracker's state, by where it is: in the table and tags only escapes and the
# space that starts the fields; in the fields escapes and a quote right after "="; in a string
# escapes and the closing quote.  Every other byte is skipped by the regex engine.
_HEAD_STATE_RE = re.compile(rb"[\\ ]")
_FIELDS_STATE_RE = re.compile(rb'\\|="')
_STRING_STATE_RE = re.compile(rb'[\\"]')


class _QuoteTracker:
    """Follows an incomplete line just far enough to know where strings are.

    A double quote opens a string only in the fields (after the first
    unescaped space) and right after an unescaped "=".  The state is kept
    between feeds so that a long line is never rescanned from its start.
    Escapes are followed byte by byte: UTF-8 continuation bytes are never
    ASCII, so skipping one byte after a backslash is enough.
    """

    def __init__(self) -> None:
        self.scanned = 0  # bytes of the line already followed
        self.in_fields = False
        self.in_string = False

    def line_end_in_string(self, buffer: bytearray, start: int, end: int) -> bool:
        """Follow the line up to end; True if the LF or CR at end belongs to a string (escaped by a
        backslash, or a raw CR)."""
        pos = start + self.scanned
        while pos < end:
            # Jump to the next place that can change the state (a regex scan in C: the profile of
            # `nox -s bench` had a byte-by-byte loop here at a quarter of the stub's time per row).
            state_re = _STRING_STATE_RE if self.in_string else _FIELDS_STATE_RE if self.in_fields else _HEAD_STATE_RE
            found = state_re.search(buffer, pos, end)
            if found is None:
                break
            pos = found.start()
            byte = buffer[pos]
            if byte == _BACKSLASH:
                if pos + 1 == end:
                    if not self.in_string:
                        return False  # an escaped line end outside strings ends the line
                    self.scanned = end + 1 - start
                    return True
                pos += 2
            elif self.in_string:  # the closing quote
                self.in_string = False
                pos += 1
            elif self.in_fields:  # '="' opens a string
                self.in_string = True
                pos += 2
            else:  # the space before the fields
                self.in_fields = True
                pos += 1
        if self.in_string and buffer[end] == _CR:
            self.scanned = end + 1 - start
            return True
        self.scanned = end - start
        return False
