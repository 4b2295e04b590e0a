"""The event log: one JSON object per line, in the order things happened (contract in README.md).

Events go to a file (buffered, flushed every `flush_interval` seconds by the server and always on
close), and optionally into memory for in-process users, who can wait for a condition on them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import IO

import orjson

# Unicode line breaks that str.splitlines() would split a JSON line on (U+2028, U+2029, U+0085 in
# UTF-8): written as \u escapes, so that every event stays one line for any reader.
_LINE_BREAKS = re.compile(b"\xe2\x80[\xa8\xa9]|\xc2\x85")


def _escape_line_break(found: re.Match) -> bytes:
    return b"\\u%04x" % ord(found.group().decode())


def encode(event: dict) -> bytes:
    """One event as a JSON line (UTF-8, no spaces, ending in \\n).

    orjson rather than the json module: a row event takes it 2 µs instead of 25 (the profile of
    `nox -s bench`).  Non-finite floats must already be the strings "NaN", "Infinity"...
    """
    line = orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
    if line.isascii():  # the common case, checked far faster than the search below
        return line
    return _LINE_BREAKS.sub(_escape_line_break, line)


class EventLog:
    def __init__(self, stream: IO[bytes] | None = None, keep_in_memory: bool = False, owns_stream: bool = False):
        self._stream = stream
        self._owns_stream = owns_stream
        self._memory: list[dict] | None = [] if keep_in_memory else None
        self._changed = threading.Condition()

    @classmethod
    def to_file(cls, path, keep_in_memory: bool = False) -> EventLog:
        return cls(open(path, "wb", buffering=1 << 16), keep_in_memory, owns_stream=True)

    def emit(self, event: dict) -> None:
        if self._stream is not None:
            self._stream.write(encode(event))
        if self._memory is not None:
            with self._changed:
                self._memory.append(event)
                self._changed.notify_all()

    def flush(self) -> None:
        if self._stream is not None and not self._stream.closed:
            self._stream.flush()

    def close(self) -> None:
        if self._stream is not None and not self._stream.closed:
            self._stream.flush()
            if self._owns_stream:
                self._stream.close()

    def snapshot(self) -> list[dict]:
        """A copy of the events so far (in-memory logs only)."""
        if self._memory is None:
            raise RuntimeError("this event log does not keep events in memory")
        with self._changed:
            return list(self._memory)

    def since(self, start: int) -> list[dict]:
        """The events from number `start` on (in-memory logs only): for a reader that keeps its place."""
        if self._memory is None:
            raise RuntimeError("this event log does not keep events in memory")
        with self._changed:
            return self._memory[start:]

    def wait_for(self, condition: Callable[[list[dict]], object], timeout: float) -> object:
        """Block until condition(events) is truthy and return its value; TimeoutError after timeout."""
        if self._memory is None:
            raise RuntimeError("this event log does not keep events in memory")
        with self._changed:
            result = self._changed.wait_for(lambda: condition(self._memory), timeout)
            if not result:
                raise TimeoutError(f"condition not met within {timeout} s; events so far: {self._memory[-20:]}")
            return result
