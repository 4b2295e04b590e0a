"""IlpStream.feed alone, in this process (no socket, no event loop, no name rules, no events): rows/s of
several payloads or parsers measured side by side, so that their ratio is not moved by what else the
machine does.

race() feeds each entry (a stream class and a payload) in turn, round after round, the order reversed
every other round so that no entry always runs first; each entry's figure is its best round. Every
round must parse every row without an error.

measure_shapes() is the feed part: the rows payload as text floats, as binary doubles and with a
100-double array (shapes.py), through the stub's IlpStream.
"""

from __future__ import annotations

import gc
import time

from server_stub.ilp import IlpStream

from . import shapes
from .rows import Payload

REPEATS = 5
ROWS = 10_000


def measure_shapes(rows: int = ROWS, repeats: int = REPEATS) -> dict:
    entries = {shape: (IlpStream, shapes.build(shape, rows)) for shape in shapes.SHAPES}
    return {"rows": rows, "repeats": repeats, "shapes": race(entries, repeats)}


def race(entries: dict[str, tuple[type, Payload]], repeats: int = REPEATS) -> dict[str, dict]:
    """{name: figures} for entries {name: (stream class, payload)}, measured side by side."""
    best = dict.fromkeys(entries, float("inf"))
    names = list(entries)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            stream_class, payload = entries[name]
            best[name] = min(best[name], feed_seconds(stream_class, payload))
    return {name: _figures(entries[name][1], best[name]) for name in names}


def feed_seconds(stream_class: type, payload: Payload) -> float:
    """Seconds for one new stream of `stream_class` to take every write of the payload."""
    gc.collect()
    stream, count = stream_class(), 0
    started = time.perf_counter()
    for chunk in payload.chunks:
        rows, error = stream.feed(chunk)
        if error is not None:
            raise RuntimeError(f"{stream_class.__module__}.IlpStream stopped the payload: {error}")
        count += len(rows)
    seconds = time.perf_counter() - started
    if count != payload.rows:
        raise RuntimeError(f"{stream_class.__module__}.IlpStream gave {count} rows of {payload.rows}")
    return seconds


def _figures(payload: Payload, seconds: float) -> dict:
    return {"per_second": round(payload.rows / seconds, 1), "us_per_row": round(seconds / payload.rows * 1e6, 2),
            "bytes_per_row": payload.line_bytes, "mb_per_second": round(payload.total_bytes / seconds / 1e6, 2),
            "seconds_best": round(seconds, 4)}
