"""The rows payload: the fixture's "all-types" row, its table renamed, its timestamp unique per row.

The row is taken as text (its `ilp` in interop/rows.jsonl): everything up to the designated timestamp
is kept byte for byte (tags, every column type, a string with escaped quotes, a backslash and an
escaped newline), the table name is replaced, and row i gets timestamp base + i µs (unique in
QuestDB's microsecond timestamps too, and in order, which is QuestDB's fast path).
"""

from __future__ import annotations

from dataclasses import dataclass

from server_stub.ilp import parse_line

from ..fixture import load_rows

ROW_ID = "all-types"
TABLE = "bench_rows"
STEP_NS = 1_000
ROWS_PER_CHUNK = 4096  # about 1.1 MB per write


@dataclass
class Payload:
    rows: int
    chunks: list[bytes]
    line_bytes: int  # bytes of one row, its \n included
    base_ns: int
    expected: dict  # the first row as the stub must record it (table, symbols, columns, timestamp)

    @property
    def total_bytes(self) -> int:
        return sum(map(len, self.chunks))


def fixture_row() -> dict:
    return next(row for row in load_rows() if row["id"] == ROW_ID)


def build_payload(rows: int, table: str = TABLE, rows_per_chunk: int = ROWS_PER_CHUNK) -> Payload:
    row = fixture_row()
    text = row["ilp"]
    if not text.startswith(row["table"] + ",") or row["timestamp"] is None or row["timestamp"]["unit"] != "ns":
        raise ValueError(f"fixture row {ROW_ID!r} is not shaped as expected (table, tags, ns timestamp)")
    head, stamp = text.rsplit(" ", 1)
    base = row["timestamp"]["value"]
    if stamp != str(base):
        raise ValueError(f"fixture row {ROW_ID!r}: ilp timestamp {stamp} is not {base}")
    prefix = (table + head[len(row["table"]):] + " ").encode()
    expected = {"table": table, "symbols": row["symbols"], "columns": row["columns"],
                "timestamp": {"value": base, "unit": "ns"}}
    first = prefix + str(base).encode()
    if parse_line(first) != expected:  # the renamed text still parses to the fixture's values
        raise ValueError(f"the renamed {ROW_ID!r} row does not parse to the fixture's values: {first[:120]!r}")
    return Payload(rows, stamped_chunks(prefix, base, rows, rows_per_chunk), len(first) + 1, base, expected)


def stamped_chunks(prefix: bytes, base: int, rows: int, rows_per_chunk: int = ROWS_PER_CHUNK) -> list[bytes]:
    """`rows` lines, each `prefix` then its timestamp base + i * STEP_NS and \n, in writes of rows_per_chunk."""
    chunks = []
    for begin in range(0, rows, rows_per_chunk):
        stamps = range(base + begin * STEP_NS, base + min(rows, begin + rows_per_chunk) * STEP_NS, STEP_NS)
        chunks.append(b"".join([prefix + b"%d\n" % ts for ts in stamps]))
    return chunks
