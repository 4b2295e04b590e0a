"""The events contract in code: one typed record per event kind, and the reader every consumer uses.

The stub writes events as JSON lines (events.py); README.md's events table documents them, and a
test holds that table against the records below. A reader gets them back from a file with
`read_events` (each line checked against its record: an unknown kind, a missing or an unknown
field is an `EventsError` naming the file and the line) and groups them per connection with
`by_connection`.

Records are TypedDicts: at run time an event stays the plain dict the stub emits, so writing one
costs nothing extra, while a reader and a type checker know its fields. (No `from __future__ import
annotations` here: TypedDict reads NotRequired from evaluated annotations.)
"""


import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NotRequired, TypedDict, Union


class Listening(TypedDict):
    event: Literal["listening"]
    host: str
    port: int
    also_hosts: NotRequired[list[str]]  # more addresses on the same port (--also-host)
    fault: NotRequired[str]  # the fault this stub injects (--fault)
    tls: NotRequired[dict]  # --tls: {"ca": the CA file clients trust, or null for a certificate of one's own}


class Connect(TypedDict):
    event: Literal["connect"]
    conn: int
    peer: str | None  # "127.0.0.1:51234"


class Auth(TypedDict):
    """Exactly one per connection: the verdict, and why."""

    event: Literal["auth"]
    conn: int
    kid: str | None  # None when the connection ended before its key id
    accepted: bool
    encoding: str  # "p1363", "der" or "invalid": what the length rule chose
    signature_b64_chars: int | None
    signature_bytes: int | None  # decoded length, None when it did not decode
    reason: str | None  # None when accepted
    hint: str | None
    reason_code: NotRequired[str]  # on rejection: a key of reasons.toml
    mistakes: NotRequired[list[str]]  # the client mistakes that make the signature verify
    missing: NotRequired[str]  # "key_id" or "signature", for a timeout
    real_server_closes: NotRequired[bool]  # False where the real server leaves the connection open
    real_server: NotRequired[str]  # what the real server does instead
    discarded_bytes: NotRequired[int]  # on acceptance: sent after the key id, lost
    pipelined_bytes: NotRequired[int]  # on acceptance: sent after the signature, read as rows
    bytes_before_challenge: NotRequired[int]  # sent after the key id before the whole challenge arrived
    warning_code: NotRequired[str]  # accepted only as QuestDB's lenient verifier accepts: warnings.toml
    warning: NotRequired[str]  # what a strict verifier would do, and the fix
    edge_cases: NotRequired[list[str]]  # once the scalars were read: signature.EDGE_CASES they exercise


class Row(TypedDict):
    """A row, only ever after an accepted auth of the same connection."""

    event: Literal["row"]
    conn: int
    table: str
    symbols: dict[str, str]
    columns: dict[str, dict]  # name: {"type", "value"[, "unit"][, "binary"]}; arrays and decimals as README.md says
    timestamp: dict | None  # {"value": int, "unit": "ns" | "us" | "ms"}, or None: the server's clock


class IlpError(TypedDict):
    event: Literal["ilp_error"]
    conn: int
    line: int  # 1-based, on this connection
    error: str
    text: str  # the line, cut to 200 characters
    deviation: NotRequired[str]  # "line_limit" or "never_ends": a deliberate deviation (server_stub/PROTOCOL.md section 7)


class Close(TypedDict):
    event: Literal["close"]
    conn: int
    cause: str  # peer_closed, rejected, timeout, ilp_error, server_stop, fault
    rows: int
    bytes: int
    unterminated_bytes: NotRequired[int]  # a last line without its line end (not parsed)
    seconds: NotRequired[float]  # from the accept to the close, on the stub's clock (the server adapter adds it)


class Stopped(TypedDict):
    event: Literal["stopped"]


Event = Union[Listening, Connect, Auth, Row, IlpError, Close, Stopped]  # noqa: UP007 (TypedDicts: no | at run time)
RECORDS: dict[str, type] = {"listening": Listening, "connect": Connect, "auth": Auth, "row": Row,
                            "ilp_error": IlpError, "close": Close, "stopped": Stopped}


def fields(record: type) -> tuple[set[str], set[str]]:
    """(required, optional) field names of a record."""
    return set(record.__required_keys__), set(record.__optional_keys__)


_FIELDS = {kind: fields(record) for kind, record in RECORDS.items()}


class EventsError(ValueError):
    """An events file that breaks the contract; the message names the file and the line."""


def check(event: dict, where: str = "event") -> Event:
    """`event` if it is a record of its kind (known kind, every required field, no unknown one)."""
    kind = event.get("event") if isinstance(event, dict) else None
    if kind not in _FIELDS:
        raise EventsError(f"{where}: unknown event kind {kind!r}; known: {', '.join(RECORDS)}")
    required, optional = _FIELDS[kind]
    missing, unknown = sorted(required - event.keys()), sorted(event.keys() - required - optional)
    if missing or unknown:
        raise EventsError(f"{where}: {kind} event " + "; ".join(
            ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"has unknown {', '.join(unknown)}"] if unknown else [])))
    return event  # type: ignore[return-value]


def read_events(path: Path | str) -> Iterator[Event]:
    """Every event of an events file, in order, each checked against its record."""
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                raise EventsError(f"{where}: not JSON: {error}") from error
            yield check(event, where)


@dataclass
class Connection:
    """The events of one connection, in the order they happened."""

    conn: int
    peer: str | None = None  # from its connect event
    connect: Connect | None = None
    auth: Auth | None = None
    rows: list[Row] = field(default_factory=list)
    ilp_errors: list[IlpError] = field(default_factory=list)
    close: Close | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.auth is not None and self.auth["accepted"]

    def add(self, event: Event) -> None:
        """Record one more event of this connection."""
        self.events.append(event)
        kind = event["event"]
        if kind == "row":
            self.rows.append(event)
        elif kind == "ilp_error":
            self.ilp_errors.append(event)
        elif kind == "connect":
            self.connect, self.peer = event, event["peer"]
        elif kind == "auth":
            self.auth = event
        elif kind == "close":
            self.close = event


def by_connection(events: Iterable[Event], into: dict[int, Connection] | None = None) -> dict[int, Connection]:
    """Events grouped per connection number (events without one, listening and stopped, are left out);
    `into`: a grouping to add them to, for a reader that keeps its place."""
    conns: dict[int, Connection] = {} if into is None else into
    for event in events:
        conn = event.get("conn")
        if conn is None:
            continue
        entry = conns.get(conn)
        if entry is None:
            entry = conns[conn] = Connection(conn)
        entry.add(event)
    return conns


def by_peer(conns: dict[int, Connection]) -> dict[str, Connection]:
    """The same connections keyed by the client's address ("127.0.0.1:51234"), as a client sees itself."""
    return {c.peer: c for c in conns.values() if c.peer is not None}


__all__ = ["RECORDS", "Auth", "Close", "Connect", "Connection", "Event", "EventsError", "IlpError", "Listening",
           "Row", "Stopped", "by_connection", "by_peer", "check", "fields", "read_events"]
