"""Playing a case against a server (the real QuestDB or the stub) and seeing what the client sees.

What a client can observe of a connection is little: whether the challenge came, and whether the
server closed the connection after the last write. What the server stored is read afterwards, from
the server (observe.py). Every wait is bounded; a server that misbehaves is an observation, not an
exception.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from server_stub.client import ClientConnection, Key, connect

from .case import Case, Script
from .signatures import RECIPES

CONNECT_TIMEOUT = 5.0  # the connect, and each send
CHALLENGE_WAIT = 3.0  # the challenge comes within milliseconds on both servers
CLOSE_WAIT = 0.5  # after the last write: a server that rejects closes within this (a disagreement is replayed)
PIECE_PAUSE = 0.02  # between the writes of a script, so that they arrive as separate reads


@dataclass
class Seen:
    """One connection, from the client's side."""

    local: str  # "127.0.0.1:51234": the stub's `peer` for this connection
    challenge: bool = False
    closed: bool = False  # the server closed (EOF or reset) by the end of the wait
    conn: int | None = None  # the stub's connection number (with a Watch): a port is reused once closed

    def as_json(self) -> dict:
        return {"challenge": self.challenge, "closed": self.closed}


class Watch(Protocol):
    """What a server that explains itself (the stub, through its events) tells the player."""

    def conn(self, local: str) -> int | None:
        """The number of the live connection from `local`."""

    def verdict(self, case_id: int, conn: int) -> str | None:
        """"closed" or "open" once the server has decided on that connection, None before."""


def play_case(case: Case, host: str, port: int, key: Key, watch: Watch | None = None) -> list[Seen]:
    """The case's connections, one after the other (a schema case depends on the order)."""
    return [play_script(script, host, port, key, watch, case.id) for script in case.scripts]


def play_cases(cases: list[Case], host: str, port: int, key: Key, workers: int,
               watch: Watch | None = None) -> dict[int, list[Seen]]:
    """Every case, `workers` at a time: {case id: what each of its connections saw}."""
    with ThreadPoolExecutor(workers, thread_name_prefix="diff-play") as pool:
        futures = {case.id: pool.submit(play_case, case, host, port, key, watch) for case in cases}
        return {case_id: future.result() for case_id, future in futures.items()}


def play_script(script: Script, host: str, port: int, key: Key, watch: Watch | None = None,
                case_id: int = 0) -> Seen:
    """Without a watch the client waits CLOSE_WAIT for a close; with one, until the server has decided.
    The connection is named while its socket is still open, so its local port cannot be another's."""
    with connect(host, port, CONNECT_TIMEOUT, nodelay=True) as conn:
        seen = Seen(conn.outcome.local)
        _play(conn, script, key, seen)
        if watch is None:
            if not seen.closed:
                seen.closed = conn.server_closed(CLOSE_WAIT)
            return seen
        deadline, verdict = time.monotonic() + CLOSE_WAIT, None
        while (number := watch.conn(seen.local)) is None and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.conn = number
        while seen.conn is not None and (verdict := watch.verdict(case_id, seen.conn)) is None \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        if not seen.closed:
            wait = 0.01 if verdict == "open" else max(0.01, deadline - time.monotonic())
            seen.closed = conn.server_closed(wait)
        return seen


def _play(conn: ClientConnection, script: Script, key: Key, seen: Seen) -> None:
    """The script's writes, as far as the server lets them through: a close ends them, and so does a
    send that does not finish in time (the server stopped reading; not a close)."""
    for i, piece in enumerate(script.key_id):
        if i:
            time.sleep(PIECE_PAUSE)
        if not conn.send(piece, "the key id"):
            seen.closed = bool(conn.outcome.closed)
            return
    conn.timeout = CHALLENGE_WAIT
    if conn.read_challenge() is None:
        seen.closed = bool(conn.outcome.closed)
        return
    seen.challenge = True
    conn.timeout = CONNECT_TIMEOUT
    line = RECIPES[script.signature](key, conn.outcome.challenge) + script.signature_end
    writes = _split(line, script.signature_pieces)
    writes[-1] += script.pipelined
    for piece in [*writes, *script.after]:
        time.sleep(PIECE_PAUSE)
        if not conn.send(piece, "the signature and rows"):
            seen.closed = bool(conn.outcome.closed)
            return


def _split(data: bytes, pieces: int) -> list[bytes]:
    """data in `pieces` writes of (nearly) equal size, each at least one byte."""
    pieces = max(1, min(pieces, len(data)))
    size, extra = divmod(len(data), pieces)
    out, start = [], 0
    for i in range(pieces):
        end = start + size + (1 if i < extra else 0)
        out.append(data[start:end])
        start = end
    return out


