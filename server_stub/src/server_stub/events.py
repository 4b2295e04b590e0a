"""The event log: one JSON object per line, in the order things happened (contract in README.md).

Events go to a file (buffered, flushed every `flush_interval` seconds by the server and always on
close), and optionally into memory for in-process users, who can wait for a condition on them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import IO

# Unicode line breaks that str.splitlines() would split a JSON line on: written as \u escapes,
# so that every event stays one line for any reader.
_LINE_BREAKS_ESCAPED = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"})


class EventLog:
    def __init__(self, stream: IO[str] | None = None, keep_in_memory: bool = False, owns_stream: bool = False):
        self._stream = stream
        self._owns_stream = owns_stream
        self._memory: list[dict] | None = [] if keep_in_memory else None
        self._changed = threading.Condition()

    @classmethod
    def to_file(cls, path, keep_in_memory: bool = False) -> EventLog:
        return cls(open(path, "w", encoding="utf-8", buffering=1 << 16), keep_in_memory, owns_stream=True)

    def emit(self, event: dict) -> None:
        if self._stream is not None:
            # allow_nan=False: non-finite floats must already be the strings "NaN", "Infinity"...
            line = json.dumps(event, ensure_ascii=False, allow_nan=False).translate(_LINE_BREAKS_ESCAPED)
            self._stream.write(line + "\n")
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

    def wait_for(self, condition: Callable[[list[dict]], object], timeout: float) -> object:
        """Block until condition(events) is truthy and return its value; TimeoutError after timeout."""
        if self._memory is None:
            raise RuntimeError("this event log does not keep events in memory")
        with self._changed:
            result = self._changed.wait_for(lambda: condition(self._memory), timeout)
            if not result:
                raise TimeoutError(f"condition not met within {timeout} s; events so far: {self._memory[-20:]}")
            return result
