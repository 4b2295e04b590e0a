"""The parts that run in the bench's own process, on one core, each printing its line: the rows floor
(floor.py), the feed shapes (feed.py, shapes.py) and the parser before and after the grammar rewrite
(rewrite.py)."""

from __future__ import annotations

from . import feed, floor, rewrite


def rows_floor(rows: int) -> dict:
    figures = floor.measure(rows)
    print(f"floor: in-process, the stub's row pipeline {figures['pipeline_rows_per_second']:,} rows/s; building and "
          f"encoding the row event alone {figures['build_encode_rows_per_second']:,} rows/s", flush=True)
    return figures


def feed_shapes(rows: int) -> dict:
    figures = feed.measure_shapes(rows)
    rates = ", ".join(f"{name} {f['per_second']:,.0f}" for name, f in figures["shapes"].items())
    print(f"feed: IlpStream.feed alone, rows/s: {rates}", flush=True)
    return figures


def grammar_rewrite(rows: int) -> dict:
    figures = rewrite.measure(rows)
    before, after = figures["parsers"][rewrite.BEFORE], figures["parsers"][rewrite.AFTER]
    print(f"rewrite: IlpStream.feed text rows/s, before the grammar rewrite ({figures['revision']}) "
          f"{before['per_second']:,.0f}, after {after['per_second']:,.0f}", flush=True)
    return figures
