"""Where a row's time goes, in-process and without the network: the stub's row pipeline beside the
least that any pure-Python design must do per row.

- pipeline: IlpStream.feed (line splitting, parsing, QuestDB's name rules) and the row event's
  encoding, over the rows part's payload, in this process (no socket, no event loop);
- build and encode only: the same row event made from values already split and typed (a dict per
  column and per row, then orjson), i.e. no parsing at all. A stub that hands each row to Python as
  objects cannot go faster than this, whatever its parser.

Each figure is the best of REPEATS runs, on one core.
"""

from __future__ import annotations

import time

from server_stub.events import encode
from server_stub.ilp import IlpStream

from server_stub import names

from .rows import Payload, build_payload

REPEATS = 3
ROWS = 50_000


def measure(rows: int = ROWS) -> dict:
    payload = build_payload(rows)
    pipeline = _best(lambda: _pipeline(payload)) / rows
    columns = list(payload.expected["columns"].items())
    floor = _best(lambda: _build_and_encode(payload.expected, columns, rows)) / rows
    return {"rows": rows, "repeats": REPEATS,
            "pipeline_us_per_row": round(pipeline * 1e6, 2), "pipeline_rows_per_second": round(1 / pipeline),
            "build_encode_us_per_row": round(floor * 1e6, 2), "build_encode_rows_per_second": round(1 / floor)}


def _pipeline(payload: Payload) -> None:
    stream, count = IlpStream(check_row=names.check_row), 0
    for chunk in payload.chunks:
        rows, error = stream.feed(chunk)
        if error is not None:
            raise RuntimeError(f"the payload did not parse: {error}")
        for row in rows:
            encode({"event": "row", "conn": 1, **row})
        count += len(rows)
    if count != payload.rows:
        raise RuntimeError(f"{count} rows parsed of {payload.rows}")


def _build_and_encode(row: dict, columns: list[tuple[str, dict]], count: int) -> None:
    table, symbols, stamp = row["table"], list(row["symbols"].items()), row["timestamp"]["value"]
    for _ in range(count):
        encode({"event": "row", "conn": 1, "table": table, "symbols": dict(symbols),
                "columns": {key: {**column} for key, column in columns},
                "timestamp": {"value": stamp, "unit": "ns"}})


def _best(run) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best
