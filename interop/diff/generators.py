"""The generator classes: each makes cases of one kind of input, from a seed.

A class lists its mutations; the n-th case of a class takes mutation n modulo their number (every
mutation is played before any repeats) and draws the rest (where a token goes, what surrounds it,
how the bytes are split) from a random generator seeded by (seed, case id), so a case is the same
on every run with the same seed. Handshake classes vary the signature line or the key id; ILP
classes authenticate correctly and vary the lines after it. Every case ends with the probe row
(case.probe), which shows whether its connection survived.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from server_stub.ilp import binary

from ..datafile import Key, Table, load_toml
from . import signatures
from .case import Case, Script, probe

EDGES = Path(__file__).with_name("ilp_edges.toml")
KID = b"testUser1"
DESIGNATED = 1_700_000_000_000_000_000  # a fixed designated timestamp, far from the clock


def _strings() -> Key:
    return Key(list, check=lambda v: None if all(isinstance(x, str) for x in v) else "a list of strings")


EDGES_SCHEMA = Table({
    "numbers": Key(dict, table=Table({"values": _strings()})),
    "booleans": Key(dict, table=Table({"values": _strings()})),
    "strings": Key(dict, table=Table({"values": _strings()})),
    "timestamps": Key(dict, table=Table({"values": _strings(), "columns": _strings()})),
    "names": Key(dict, table=Table({"characters": _strings()})),
    "structure": Key(dict, table=Table({"lines": _strings(), "lengths": Key(list)})),
    "schema": Key(dict, table=Table({"values": _strings(), "symbol_texts": _strings()})),
    "binary": Key(dict, table=Table({"values": _strings(), "contexts": _strings(), "new_only": _strings()})),
    "decimals": Key(dict, table=Table({"columns": _strings(), "values": _strings()})),
})


@cache
def edges() -> dict:
    return load_toml(EDGES, EDGES_SCHEMA)


@dataclass(frozen=True)
class Generator:
    name: str
    kind: str  # "handshake" or "ilp"
    mutations: Callable[[], list[str]]
    make: Callable[[int, str, random.Random], Case]

    def case(self, case_id: int, index: int, seed: int) -> Case:
        mutations = self.mutations()
        rng = random.Random(f"{seed}:{case_id}")
        return self.make(case_id, mutations[index % len(mutations)], rng)


# --- handshake classes ---------------------------------------------------------------------------

def _handshake_case(cls: str, case_id: int, mutation: str, rng: random.Random, **script) -> Case:
    """A handshake case: the probe row pipelined behind the signature or sent after it."""
    if rng.random() < 0.5:
        script["pipelined"] = probe(case_id)
    else:
        script["after"] = (probe(case_id),)
    return Case(case_id, cls, mutation, "handshake", (Script(**script),))


def _signature_class(name: str, recipes: tuple[str, ...]) -> Generator:
    def make(case_id: int, mutation: str, rng: random.Random) -> Case:
        return _handshake_case(name, case_id, mutation, rng, signature=mutation)
    return Generator(name, "handshake", lambda: list(recipes), make)


def _long_key_id(length: int) -> bytes:
    return (b"u" * length) + b"\n"


KEY_IDS: dict[str, Callable[[int], tuple[bytes, ...]]] = {  # mutation -> case id -> the writes
    "exact": lambda case_id: (KID + b"\n",),
    "two-pieces": lambda case_id: (KID[:4], KID[4:] + b"\n"),
    "byte-by-byte": lambda case_id: tuple(bytes([b]) for b in KID + b"\n"),
    "line-end-alone": lambda case_id: (KID, b"\n"),
    "carriage-return": lambda case_id: (KID + b"\r\n",),
    "trailing-space": lambda case_id: (KID + b" \n",),
    "leading-space": lambda case_id: (b" " + KID + b"\n",),
    "empty": lambda case_id: (b"\n",),
    "other-case": lambda case_id: (b"TestUser1\n",),
    "non-ascii": lambda case_id: ("testUsér1\n".encode(),),
    "invalid-utf8": lambda case_id: (KID + b"\xff\n",),
    "nul-inside": lambda case_id: (KID + b"\x00\n",),
    "rows-after-in-same-write": lambda case_id: (KID + b"\nc%d v=1i\n" % case_id,),  # read back: its own table
    # unknown key ids around QuestDB's receive buffer: 131071 bytes and the "\n" fit its 128 KiB, 131072 do not
    **{f"unknown-{n}-bytes": lambda case_id, n=n: (_long_key_id(n),)
       for n in (100, 1000, 4095, 4096, 4097, 16384, 65536, 131071, 131072, 131073, 262144)},
}


def _key_id_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    return _handshake_case("KeyIdFraming", case_id, mutation, rng, key_id=KEY_IDS[mutation](case_id))


SIGNATURE_FRAMINGS: dict[str, dict] = {
    "one-write": {},
    "two-pieces": {"signature_pieces": 2},
    "eight-pieces": {"signature_pieces": 8},
    "line-end-alone": {"signature_pieces": 2, "split_at_end": True},
    "rows-pipelined": {"pipelined": True},
    "rows-after": {"after": True},
    "rows-pipelined-and-after": {"pipelined": True, "after": True},
    "pieces-and-pipelined": {"signature_pieces": 5, "pipelined": True},
    "der-in-pieces": {"signature_pieces": 3, "signature": "der"},
}


def _signature_framing_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    how = dict(SIGNATURE_FRAMINGS[mutation])
    script = {"signature": how.get("signature", "p1363"), "signature_pieces": how.get("signature_pieces", 1)}
    if how.get("split_at_end"):  # the line's "\n" as a write of its own
        script.update(signature_end=b"", after=(b"\n" + probe(case_id),))
    elif how.get("pipelined") and how.get("after"):
        script.update(pipelined=f"c{case_id} v=1i\n".encode(), after=(probe(case_id),))
    elif how.get("after"):
        script.update(after=(probe(case_id),))
    else:
        script.update(pipelined=probe(case_id))
    return Case(case_id, "SignatureFraming", mutation, "handshake", (Script(**script),))


# --- ILP classes --------------------------------------------------------------------------------

def _ilp_case(cls: str, case_id: int, mutation: str, connections: list[list[bytes]]) -> Case:
    """Each connection authenticates correctly, sends its lines in one write, then the probe row;
    the probe is sent on the last connection only."""
    scripts = []
    for i, lines in enumerate(connections):
        after = (b"".join(lines),) if lines else ()
        if i == len(connections) - 1:
            after = (*after, probe(case_id))
        scripts.append(Script(after=after))
    flat = tuple(line for lines in connections for line in lines)
    return Case(case_id, cls, mutation, "ilp", tuple(scripts), flat)


def _framed(table: str, body: str, rng: random.Random, *, tail: bool = True) -> bytes:
    """A line of `table` around a field `body`: alone, after or before a good field; with or without
    the designated timestamp."""
    placement = rng.choice(("alone", "after", "before"))
    fields = {"alone": body, "after": f"a=1i,{body}", "before": f"{body},z=2i"}[placement]
    stamp = f" {DESIGNATED}" if tail and rng.random() < 0.5 else ""
    return f"{table} {fields}{stamp}\n".encode()


def _value_class(name: str, section: str, key: str = "values") -> Generator:
    def make(case_id: int, mutation: str, rng: random.Random) -> Case:
        return _ilp_case(name, case_id, mutation, [[_framed(f"c{case_id}", f"v={mutation}", rng)]])
    return Generator(name, "ilp", lambda: list(edges()[section][key]), make)


def _timestamp_mutations() -> list[str]:
    return [f"designated:{t}" for t in edges()["timestamps"]["values"]] + \
        [f"column:{t}" for t in edges()["timestamps"]["columns"]]


def _timestamp_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    where, _, token = mutation.partition(":")
    table = f"c{case_id}"
    line = f"{table} a=1i {token}\n".encode() if where == "designated" else _framed(table, f"v={token}", rng)
    return _ilp_case("IlpTimestamps", case_id, mutation, [[line]])


NAME_PLACES = ("table", "tag-key", "tag-value", "field-key")


def _name_mutations() -> list[str]:
    return [f"{place}:{char}" for char in edges()["names"]["characters"] for place in NAME_PLACES]


def _name_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    place, _, char = mutation.partition(":")
    t = f"c{case_id}"
    line = {"table": f"{t}x{char}y a=1i", "tag-key": f"{t},k{char}k=v a=1i", "tag-value": f"{t},k=v{char}v a=1i",
            "field-key": f"{t} f{char}f=1i"}[place]
    return _ilp_case("IlpNames", case_id, mutation, [[(line + "\n").encode()]])


def _structure_mutations() -> list[str]:
    return [f"line:{line}" for line in edges()["structure"]["lines"]] + \
        [f"length:{n}" for n in edges()["structure"]["lengths"]]


def _structure_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    how, _, what = mutation.partition(":")
    t = f"c{case_id}"
    if how == "line":
        line = what.replace("{t}", t)
    else:
        head = f'{t} s="'
        line = head + "x" * (int(what) - len(head) - 1) + '"'
    return _ilp_case("IlpStructure", case_id, mutation, [[(line + "\n").encode()]])


def _schema_mutations() -> list[str]:
    values, texts = edges()["schema"]["values"], edges()["schema"]["symbol_texts"]
    return [f"{a}>{b}:{where}" for a in values for b in values if a != b for where in ("same", "next")] + \
        [f"symbol-text:{text}" for text in texts] + list(AFTER_REFUSED)


def _schema_line(table: str, value: str, n: int) -> bytes:
    if value == "SYMBOL":
        return f"{table},v=x{n} n={n}i\n".encode()
    return f"{table} v={value},n={n}i\n".encode()


# A row refused by a later check, then another connection: does the refused row leave its table or
# its columns behind?
AFTER_REFUSED = {
    "after-refused:timestamp": (["{t} a=1i -1"], ['{t} a="x"']),
    "after-refused:type": (["{t} b=1i", '{t} z=1.5,b="x"'], ['{t} z="s"']),
}


def _schema_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    t = f"c{case_id}"
    if mutation in AFTER_REFUSED:
        connections = [[f"{line.format(t=t)}\n".encode() for line in lines] for lines in AFTER_REFUSED[mutation]]
        return _ilp_case("IlpSchema", case_id, mutation, connections)
    if mutation.startswith("symbol-text:"):
        lines = [_schema_line(t, "SYMBOL", 1), _schema_line(t, mutation.removeprefix("symbol-text:"), 2)]
        return _ilp_case("IlpSchema", case_id, mutation, [lines])
    pair, _, where = mutation.partition(":")
    first, second = pair.split(">")
    lines = [_schema_line(t, first, 1), _schema_line(t, second, 2)]
    connections = [lines] if where == "same" else [[lines[0]], [lines[1]]]
    return _ilp_case("IlpSchema", case_id, mutation, connections)


def _binary(recipe: str) -> bytes:
    """The bytes after "name=" for a recipe of [binary] (ilp_edges.toml): "=", the type byte, its payload."""
    kind, *words = recipe.split()
    if kind in ("double", "float", "long", "int"):
        fmt, type_byte = {"double": ("<d", 16), "float": ("<f", 2), "long": ("<q", 15), "int": ("<i", 3)}[kind]
        number = float(words[0]) if kind in ("double", "float") else int(words[0])
        return b"==" + bytes([type_byte]) + struct.pack(fmt, number)
    if kind == "boolean":
        return b"==" + bytes([6, int(words[0])])
    if kind == "timestamp":
        return b"==" + bytes([13, int(words[0])]) + struct.pack("<q", int(words[1]))
    if kind == "array":
        shape = json.loads(words[1])
        values = [float(v) for v in words[2:]]
        return (b"==" + bytes([14, int(words[0]), len(shape)]) + struct.pack(f"<{len(shape)}i", *shape)
                + struct.pack(f"<{len(values)}d", *values))
    if kind == "decimal":
        scale, unscaled = int(words[0]), int(words[1])
        length = int(words[2]) if len(words) > 2 else binary.decimal_length(unscaled)
        return b"==" + bytes([23, scale & 0xFF, length]) + (unscaled.to_bytes(length, "big", signed=True) if length else b"")
    if kind == "type":
        return b"==" + bytes([int(words[0])]) + bytes.fromhex(words[1])
    raise ValueError(f"unknown binary recipe {recipe!r}")


def _value_bytes(token: str) -> bytes:
    """A field value token: text, or a binary recipe after "binary:"."""
    return _binary(token.removeprefix("binary:")) if token.startswith("binary:") else b"=" + token.encode()


def _binary_mutations() -> list[str]:
    binary = edges()["binary"]
    return [f"{context}>{value}" for value in binary["values"] for context in binary["contexts"]
            if context == "new" or value not in binary["new_only"]]


def _binary_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    context, _, recipe = mutation.partition(">")
    t = f"c{case_id}".encode()
    lines = []
    # The first row is stamped just before the second one can be (DESIGNATED, or the clock, later):
    # rows in time order, since QuestDB 9.3.4 can crash merging array columns out of order.
    before = b" %d\n" % (DESIGNATED - 1)
    if context == "symbol":
        lines.append(t + b",v=x n=1i" + before)
    elif context != "new":
        lines.append(t + b" v" + _value_bytes(context if not context.startswith("array") else "binary:" + context)
                     + b",n=1i" + before)
    placement = rng.choice(("alone", "after", "before"))
    value = b"v" + _binary(recipe)
    fields = {"alone": value, "after": b"a=1i," + value, "before": value + b",z=2i"}[placement]
    stamp = b" %d" % DESIGNATED if rng.random() < 0.5 else b""
    lines.append(t + b" " + fields + stamp + b"\n")
    return _pieces_case("IlpBinary", case_id, mutation, lines, rng)


def _pieces_case(cls: str, case_id: int, mutation: str, lines: list[bytes], rng: random.Random,
                 schema: dict | None = None) -> Case:
    """One connection that sends the lines in one write, or cut into two or three writes at random
    places (inside a binary value too), then the probe row."""
    data = b"".join(lines)
    cuts = sorted(rng.sample(range(1, len(data)), min(rng.choice((0, 1, 2)), len(data) - 1)))
    writes = tuple(data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)]))
    return Case(case_id, cls, mutation, "ilp", (Script(after=(*writes, probe(case_id))),), tuple(lines),
                schema or {})


def _decimal_mutations() -> list[str]:
    return [f"{column}<{value}" for column in edges()["decimals"]["columns"] for value in edges()["decimals"]["values"]]


def _decimal_case(case_id: int, mutation: str, rng: random.Random) -> Case:
    column, _, value = mutation.partition("<")
    t = f"c{case_id}"
    line = f"{t} n=1i,v".encode() + _value_bytes(value) + b"\n"
    return _pieces_case("IlpDecimals", case_id, mutation, [line], rng, {t: {"v": column}})


CLASSES: dict[str, Generator] = {g.name: g for g in (
    _signature_class("DerEncodings", signatures.DER_CLASS),
    _signature_class("P1363Encodings", signatures.P1363_CLASS),
    _signature_class("Base64Forms", signatures.BASE64_CLASS),
    Generator("KeyIdFraming", "handshake", lambda: list(KEY_IDS), _key_id_case),
    Generator("SignatureFraming", "handshake", lambda: list(SIGNATURE_FRAMINGS), _signature_framing_case),
    _value_class("IlpNumbers", "numbers"),
    _value_class("IlpBooleans", "booleans"),
    _value_class("IlpStrings", "strings"),
    Generator("IlpTimestamps", "ilp", _timestamp_mutations, _timestamp_case),
    Generator("IlpNames", "ilp", _name_mutations, _name_case),
    Generator("IlpStructure", "ilp", _structure_mutations, _structure_case),
    Generator("IlpSchema", "ilp", _schema_mutations, _schema_case),
    Generator("IlpBinary", "ilp", _binary_mutations, _binary_case),
    Generator("IlpDecimals", "ilp", _decimal_mutations, _decimal_case),
)}


def generate(handshakes: int, ilp: int, seed: int, only: str | None = None) -> list[Case]:
    """`handshakes` handshake cases and `ilp` ILP cases, spread evenly over the classes of each kind
    (or all of one class, `only`). Case ids count from 1."""
    if only is not None and only not in CLASSES:
        raise ValueError(f"unknown class {only!r}: one of {', '.join(CLASSES)}")
    cases: list[Case] = []
    for kind, count in (("handshake", handshakes), ("ilp", ilp)):
        classes = [g for g in CLASSES.values() if g.kind == kind and only in (None, g.name)]
        if not classes:
            continue
        for n in range(count):
            generator = classes[n % len(classes)]
            cases.append(generator.case(len(cases) + 1, n // len(classes), seed))
    return cases
