"""Stopping on evidence (evidence.toml): how many connections an example makes, decided by what the stub
saw its signatures exercise rather than by a fixed count.

A `Tally` counts, over an example's auth events, the signatures that exercised each edge case of its
encoding; `Rule.done(tally)` says whether the run may stop, and `Rule.next_batch(tally)` how many
connections the next batch makes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from server_stub.signature import EDGE_CASES

from .datafile import DataFileError, Key, Table, entry_name, load_toml
from .paths import EVIDENCE

DEFECT_RATE = 1 / 128  # the unpadded-scalar defect: a leading zero byte in r or s


def p_missed(handshakes: int, rate: float = DEFECT_RATE) -> float:
    """Probability that n independent handshakes all pass although 1 in 128 would fail."""
    return (1 - rate) ** handshakes


def handshakes_for(p: float, rate: float = DEFECT_RATE) -> int:
    """The fewest handshakes that bring p_missed down to p."""
    return math.ceil(math.log(p) / math.log(1 - rate))


_EDGE_CASE = Table({
    "code": Key(str, choices=EDGE_CASES),  # the auth event's edge_cases code (server_stub.signature)
    "shown": Key(str),  # its name in the matrix
    "encodings": Key(list),  # the encodings it decides
    "rate": Key(float),  # how often a uniformly random scalar exercises it
}, label="code")
_FILE = Table({
    "batch": Key(int),
    "k": Key(int),
    "cap": Key(int),
    "max_p_missed": Key(float),
    "edge_case": Key(list, each=_EDGE_CASE),
})


class EvidenceError(DataFileError):
    """evidence.toml breaks its schema or a rule."""


@dataclass(frozen=True)
class EdgeCase:
    code: str
    shown: str
    encodings: tuple[str, ...]
    rate: float


@dataclass
class Tally:
    """What an example's handshakes showed so far."""

    handshakes: int = 0
    seen: Counter = field(default_factory=Counter)  # edge case code -> signatures that exercised it
    broke: Counter = field(default_factory=Counter)  # of those, the ones whose handshake was rejected

    @classmethod
    def of(cls, auths) -> Tally:
        """The tally of these auth events."""
        tally = cls()
        for auth in auths:
            tally.add(auth)
        return tally

    def add(self, auth: dict) -> None:
        self.handshakes += 1
        cases = auth.get("edge_cases", ())
        self.seen.update(cases)
        if not auth["accepted"]:
            self.broke.update(cases)


@dataclass(frozen=True)
class Rule:
    batch: int
    k: int
    cap: int
    max_p_missed: float
    edge_cases: tuple[EdgeCase, ...]

    def relevant(self, encoding: str) -> tuple[EdgeCase, ...]:
        """The edge cases that decide whether an encoder of `encoding` is right."""
        return tuple(case for case in self.edge_cases if encoding in case.encodings)

    def missing(self, encoding: str, tally: Tally) -> list[EdgeCase]:
        """The relevant edge cases not yet seen k times."""
        return [case for case in self.relevant(encoding) if tally.seen[case.code] < self.k]

    def done(self, encoding: str, tally: Tally) -> bool:
        return not self.missing(encoding, tally) or tally.handshakes >= self.cap

    def next_batch(self, tally: Tally) -> int:
        return min(self.batch, self.cap - tally.handshakes)

    def stopped_by(self, encoding: str, tally: Tally) -> str:
        """'evidence' when every relevant edge case was seen k times, else 'cap'."""
        return "cap" if self.missing(encoding, tally) else "evidence"

    def fixed(self, connections: int) -> Rule:
        """The rule of a run told its count (--connections N): one batch of N, no evidence needed."""
        return Rule(connections, 0, connections, 1.0, self.edge_cases)


def load_evidence(path: Path = EVIDENCE) -> Rule:
    """evidence.toml, checked: its schema and the rules written at its top."""
    data = load_toml(path, _FILE, EvidenceError)
    if data["k"] < 1:
        raise EvidenceError(f"{path}: k = {data['k']}: must be at least 1")
    if not 1 <= data["batch"] <= data["cap"]:
        raise EvidenceError(f"{path}: batch = {data['batch']}: must be from 1 to cap ({data['cap']})")
    needed = handshakes_for(data["max_p_missed"])
    if data["cap"] < needed:
        raise EvidenceError(f"{path}: cap = {data['cap']}: below {needed}, the handshakes that bring P(missed 1/128) "
                            f"down to max_p_missed ({data['max_p_missed']:g}) when the evidence never comes")
    cases = []
    for index, spec in enumerate(data["edge_case"], 1):
        unknown = sorted(set(spec["encodings"]) - {"p1363", "der"})
        if unknown:
            raise EvidenceError(f"{path}: {entry_name('edge_case', index, spec, 'code')}: encodings: {unknown}; "
                                "expected 'p1363' or 'der'")
        cases.append(EdgeCase(spec["code"], spec["shown"], tuple(spec["encodings"]), spec["rate"]))
    return Rule(data["batch"], data["k"], data["cap"], data["max_p_missed"], tuple(cases))
