"""A generated case: what one or more client connections send, as data that survives a round trip
through JSON (the recorded ground truth stores cases this way).

A connection is a script: the key id writes, then the signature (a recipe of signatures.py, applied
to the challenge that connection gets), then the writes after it. Each write is its own `send`, with
a pause before the next, so that the server receives the pieces apart.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

PROBE_TABLE = "alive"  # every case's last line: `alive,probe=c<id> ok=1i` shows the connection survived


@dataclass(frozen=True)
class Script:
    key_id: tuple[bytes, ...] = (b"testUser1\n",)  # the writes of step 1
    signature: str = "p1363"  # a recipe of signatures.RECIPES
    signature_end: bytes = b"\n"
    signature_pieces: int = 1  # the signature line in this many writes (the last carries no rows)
    pipelined: bytes = b""  # in the same write as the end of the signature line
    after: tuple[bytes, ...] = ()  # separate writes after the signature line

    def as_json(self) -> dict:
        return {"key_id": [_bytes_json(b) for b in self.key_id], "signature": self.signature,
                "signature_end": _bytes_json(self.signature_end), "signature_pieces": self.signature_pieces,
                "pipelined": _bytes_json(self.pipelined), "after": [_bytes_json(b) for b in self.after]}

    @classmethod
    def from_json(cls, data: dict) -> Script:
        return cls(tuple(_json_bytes(b) for b in data["key_id"]), data["signature"],
                   _json_bytes(data["signature_end"]), data["signature_pieces"], _json_bytes(data["pipelined"]),
                   tuple(_json_bytes(b) for b in data["after"]))


@dataclass(frozen=True)
class Case:
    id: int
    cls: str  # the generator class (generators.CLASSES)
    mutation: str  # what the class did, in a word or two
    kind: str  # "handshake" or "ilp"
    scripts: tuple[Script, ...]  # the connections, played one after the other
    lines: tuple[bytes, ...] = field(default=())  # ilp: the lines under test, for reports and minimising
    # tables both servers get before the case is played, {table: {column: TYPE}} (server_stub.schema):
    # DECIMAL columns, which QuestDB never makes from ILP
    schema: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def table(self) -> str:
        """The case's own table: every ILP line a generator writes names it (or starts with it)."""
        return f"c{self.id}"

    def as_json(self) -> dict:
        data = {"id": self.id, "class": self.cls, "mutation": self.mutation, "kind": self.kind,
                "scripts": [s.as_json() for s in self.scripts], "lines": [_bytes_json(b) for b in self.lines]}
        return data | ({"schema": self.schema} if self.schema else {})

    @classmethod
    def from_json(cls, data: dict) -> Case:
        return cls(data["id"], data["class"], data["mutation"], data["kind"],
                   tuple(Script.from_json(s) for s in data["scripts"]),
                   tuple(_json_bytes(b) for b in data["lines"]), data.get("schema", {}))


def probe(case_id: int) -> bytes:
    return f"{PROBE_TABLE},probe=c{case_id} ok=1i\n".encode()


def _bytes_json(data: bytes) -> str | dict:
    """Text when the bytes are UTF-8 (readable in the data file), else {"b64": ...}."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode()}


def _json_bytes(data: str | dict) -> bytes:
    return base64.b64decode(data["b64"]) if isinstance(data, dict) else data.encode("utf-8")
