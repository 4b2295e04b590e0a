"""Splitting the byte stream of one connection into lines, and the lines into rows.

A line ends at the first LF or CR that is not inside a string or a binary value (grammar.py). Most
lines end at their first LF (one that no backslash escapes, in a line without "=="); the others
are measured by one regex pass (grammar.LINE_EXTENT), and where that cannot decide (a binary value,
an incomplete line), walked by _Walker, which follows the grammar's sections just far enough to know
where strings and binary values are, skips a binary value by its declared length, and keeps its
place between feeds.
"""

from __future__ import annotations

from . import binary, grammar
from .errors import IlpLineError
from .parse import parse_line, parse_text

_LF, _CR, _BACKSLASH, _QUOTE, _EQUALS = b"\n\r\\\"="
_BINARY_MARK = b"=="
_LINE_END_BYTES = b"\n\r"
_LINE_EXTENT_RE = grammar.bytes_pattern(grammar.LINE_EXTENT)

# The walker's states: where in a line it is.
_HEAD, _FIELDS, _STRING, _BINARY = range(4)
_STOPS = {
    _HEAD: grammar.bytes_pattern(grammar.STOPS_IN_HEAD),
    _FIELDS: grammar.bytes_pattern(grammar.STOPS_IN_FIELDS),
    _STRING: grammar.bytes_pattern(grammar.STOPS_IN_STRING),
}


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
        self._walker: _Walker | None = None  # for the incomplete line, when it needs one
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
        {"line": N, "error": message, "text": the line, at most 200 chars} (and "deviation" when the
        stub's own limit made it an error). After an error every later call returns ([], None).
        """
        if self._dead:
            return [], None
        buffer = self._buffer
        buffer += data
        rows: list[dict] = []
        start = 0
        for end in _line_end_positions(buffer, self._search_from):
            if end < start:
                continue  # inside a line that has already ended
            # An unescaped LF ends the line even inside a string (as an error); only a binary value
            # can hold one. This is the common line, decided by one search.
            text = self._walker is None and buffer[end] == _LF and (end == start or buffer[end - 1] != _BACKSLASH) \
                and buffer.find(_BINARY_MARK, start, end) < 0
            if text:
                line_end = end
            else:
                try:
                    line_end = self._line_end(buffer, start, end)
                except IlpLineError as exc:
                    return rows, self._walk_error(buffer, start, exc)
                if line_end is None:
                    break  # the walker reached the end of the buffer: the line is not complete
            line = buffer[start:line_end]
            start = line_end + 1
            self._walker = None
            if line:
                error = self._parse_into(line, rows, parse_text if text else parse_line)
                if error is not None:
                    return rows, error
        del buffer[:start]
        self._search_from = len(buffer)
        if len(buffer) > self.max_line_bytes:
            # Fail now rather than wait for a line end: the buffer stays bounded. A binary value refused
            # by its header before the limit is the first error, whether or not a line end came.
            try:
                (self._walker or _Walker(self.max_line_bytes)).advance(buffer, 0)
            except IlpLineError as exc:
                return rows, self._walk_error(buffer, 0, exc)
            self._lines_seen += 1
            return rows, self._stop(buffer, self._too_long(), deviation="line_limit")
        return rows, None

    def _walk_error(self, buffer: bytearray, start: int, exc: IlpLineError) -> dict:
        """The walker's error (a binary value refused by its header), or, past the limit, the limit's."""
        self._lines_seen += 1
        if exc.offset >= self.max_line_bytes:
            return self._stop(buffer[start:], self._too_long(), deviation="line_limit")
        return self._stop(buffer[start:start + exc.offset + 1], str(exc), deviation=exc.deviation)

    def _line_end(self, buffer: bytearray, start: int, end: int) -> int | None:
        """Where the line that begins at start ends, given the LF or CR at end (the first one not yet
        ruled out) that does not end it plainly: end, a later line end, or None when that is still to come."""
        if self._walker is None:
            stop = _LINE_EXTENT_RE.match(buffer, start).end()  # the whole text line in one pass, in C
            if stop < len(buffer) and buffer[stop] in _LINE_END_BYTES:
                return stop
            if stop + 1 < len(buffer) and buffer[stop] == _BACKSLASH and buffer[stop + 1] in _LINE_END_BYTES:
                return stop + 1
            self._walker = _Walker(self.max_line_bytes)
        return self._walker.advance(buffer, start)

    def _parse_into(self, line: bytearray, rows: list[dict], parse=parse_line) -> dict | None:
        self._lines_seen += 1
        if len(line) > self.max_line_bytes:
            return self._stop(line, self._too_long(), deviation="line_limit")
        try:
            row = parse(line)
            if self._check_row is not None:
                row = self._check_row(row, line) or row
            rows.append(row)
        except IlpLineError as exc:
            return self._stop(line, str(exc), deviation=exc.deviation)
        return None

    def _too_long(self) -> str:
        return f"line too long: more than {self.max_line_bytes} bytes"

    def _stop(self, line: bytearray, message: str, deviation: str | None = None) -> dict:
        self._dead = True
        # 200 characters take at most 800 bytes of UTF-8; decode no more.
        text = bytes(line[:800]).decode("utf-8", errors="replace")[:200]
        self._buffer = bytearray()
        self._search_from = 0
        self._walker = None
        error = {"line": self._lines_seen, "error": message, "text": text}
        return error | {"deviation": deviation} if deviation else error


def _line_end_positions(buffer: bytearray, pos: int):
    """Yield the position of every LF and CR byte from pos on, in order; each byte is searched once,
    so a buffer with many lines stays linear."""
    next_lf = buffer.find(b"\n", pos)
    next_cr = buffer.find(b"\r", pos)
    while next_lf >= 0 or next_cr >= 0:
        if next_cr < 0 or 0 <= next_lf < next_cr:
            yield next_lf
            next_lf = buffer.find(b"\n", next_lf + 1)
        else:
            yield next_cr
            next_cr = buffer.find(b"\r", next_cr + 1)


class _Walker:
    """Follows one line through the grammar's sections until its real end, keeping its place between
    feeds so that a long line is never walked again from its start.

    Escapes are followed byte by byte (UTF-8 continuation bytes are never ASCII, so skipping one byte
    after a backslash is enough); outside strings a backslash before a line end escapes nothing and
    the line ends. A binary value is skipped by the length its header declares, which is bounded by
    max_line_bytes before the stream waits for it."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.state = _HEAD
        self.pos = 0  # how far the line has been walked, from its start

    def advance(self, buffer: bytearray, start: int) -> int | None:
        """The position of the LF or CR that ends the line starting at start, or None if the buffer
        ends first. IlpLineError for a binary value refused by its header, or longer than the limit."""
        state, pos, size = self.state, start + self.pos, len(buffer)
        while True:
            if state == _BINARY:  # pos: its type byte
                end = binary.extent(buffer, pos, _name_before(buffer, start, pos - 2), -start)
                if end is not None and end - start > self.max_line_bytes:
                    raise IlpLineError(f"line too long: more than {self.max_line_bytes} bytes (a binary value "
                                       f"declares {end - pos} bytes)", pos - start, deviation="line_limit")
                if end is None or end > size:
                    break  # its header or its payload is still to come
                state, pos = _FIELDS, end
                continue
            found = _STOPS[state].search(buffer, pos)
            if found is None:
                # A last "=" may yet open a string or a binary value: look at it again with the next bytes.
                pos = size - 1 if state == _FIELDS and pos < size and buffer[size - 1] == _EQUALS else size
                break
            pos = found.start()
            byte = buffer[pos]
            if byte == _LF or byte == _CR:  # in a string only an unescaped LF stops the walk: an error
                return pos
            if byte == _BACKSLASH:
                if pos + 1 >= size:
                    break
                if state != _STRING and buffer[pos + 1] in b"\n\r":
                    return pos + 1
                pos += 2
            elif state == _HEAD or state == _STRING:  # the space before the fields
                state, pos = _FIELDS, pos + 1
            else:  # '="' or "=="
                state, pos = (_STRING if buffer[pos + 1] == _QUOTE else _BINARY), pos + 2
        self.state, self.pos = state, pos - start
        return None


def _name_before(buffer: bytearray, start: int, pos: int) -> str:
    """The field name that ends at pos (its "="), as written: for messages."""
    begin = max(buffer.rfind(b",", start, pos), buffer.rfind(b" ", start, pos)) + 1
    return bytes(buffer[begin:pos]).decode("utf-8", errors="replace")
