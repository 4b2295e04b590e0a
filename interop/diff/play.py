"""Playing a case against a server (the real QuestDB or the stub) and seeing what the client sees.

What a client can observe of a connection is little: whether the challenge came, and whether the
server closed the connection after the last write. What the server stored is read afterwards, from
the server (observe.py). Every wait is bounded; a server that misbehaves is an observation, not an
exception.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from server_stub.client import ClientConnection, Key, connect

from .case import Case, Script
from .signatures import RECIPES

CONNECT_TIMEOUT = 5.0
CHALLENGE_WAIT = 3.0  # the challenge comes within milliseconds on both servers
CLOSE_WAIT = 0.5  # after the last write: a server that rejects closes within this (a disagreement is replayed)
PIECE_PAUSE = 0.02  # between the writes of a script, so that they arrive as separate reads


@dataclass
class Seen:
    """One connection, from the client's side."""

    local: str  # "127.0.0.1:51234": the stub's `peer` for this connection
    challenge: bool = False
    closed: bool = False  # the server closed (EOF or reset) by the end of the wait
    problem: str | None = None  # why the script stopped early (a close while sending, no challenge)

    def as_json(self) -> dict:
        return {"challenge": self.challenge, "closed": self.closed}


# settled(case id, local address): "closed" or "open" once the server has decided on that connection,
# None before. Only the stub can say (from its events); without it the client waits CLOSE_WAIT for a close.
Settled = Callable[[int, str], str | None]


def play_case(case: Case, host: str, port: int, key: Key, settled: Settled | None = None) -> list[Seen]:
    """The case's connections, one after the other (a schema case depends on the order)."""
    return [play_script(script, host, port, key, None if settled is None else lambda local: settled(case.id, local))
            for script in case.scripts]


def play_cases(cases: list[Case], host: str, port: int, key: Key, workers: int,
               settled: Settled | None = None) -> dict[int, list[Seen]]:
    """Every case, `workers` at a time: {case id: what each of its connections saw}."""
    with ThreadPoolExecutor(workers, thread_name_prefix="diff-play") as pool:
        futures = {case.id: pool.submit(play_case, case, host, port, key, settled) for case in cases}
        return {case_id: future.result() for case_id, future in futures.items()}


def play_script(script: Script, host: str, port: int, key: Key,
                settled: Callable[[str], str | None] | None = None) -> Seen:
    with connect(host, port, CONNECT_TIMEOUT, nodelay=True) as conn:
        seen = Seen(conn.outcome.local)
        seen.problem = _play(conn, script, key, seen)
        if not seen.closed:
            wait = CLOSE_WAIT if settled is None else _wait_for_verdict(seen.local, settled)
            seen.closed = conn.server_closed(wait)
        return seen


def _wait_for_verdict(local: str, settled: Callable[[str], str | None]) -> float:
    """How long the client still waits for a close once the server has decided (a moment when it keeps
    the connection, up to the rest of CLOSE_WAIT when it closes it)."""
    deadline = time.monotonic() + CLOSE_WAIT
    while (verdict := settled(local)) is None and time.monotonic() < deadline:
        time.sleep(0.005)
    return 0.01 if verdict == "open" else max(0.01, deadline - time.monotonic())


def _play(conn: ClientConnection, script: Script, key: Key, seen: Seen) -> str | None:
    for i, piece in enumerate(script.key_id):
        if i:
            time.sleep(PIECE_PAUSE)
        if not _send(conn, piece, seen):
            return "closed while sending the key id"
    conn.timeout = CHALLENGE_WAIT
    challenge = conn.read_challenge()
    if challenge is None:
        seen.closed = bool(conn.outcome.closed)
        return conn.outcome.problem
    seen.challenge = True
    line = RECIPES[script.signature](key, challenge) + script.signature_end
    writes = _split(line, script.signature_pieces)
    writes[-1] += script.pipelined
    for piece in [*writes, *script.after]:
        time.sleep(PIECE_PAUSE)
        if not _send(conn, piece, seen):
            return "closed while sending"
    return None


def _send(conn: ClientConnection, data: bytes, seen: Seen) -> bool:
    try:
        conn.sock.settimeout(CONNECT_TIMEOUT)
        conn.sock.sendall(data)
        return True
    except (TimeoutError, OSError):
        seen.closed = True
        return False


def _split(data: bytes, pieces: int) -> list[bytes]:
    """data in `pieces` writes of (nearly) equal size; at most one byte each."""
    pieces = max(1, min(pieces, len(data)))
    size, extra = divmod(len(data), pieces)
    out, start = [], 0
    for i in range(pieces):
        end = start + size + (1 if i < extra else 0)
        out.append(data[start:end])
        start = end
    return out


