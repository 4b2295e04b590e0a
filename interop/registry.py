"""The client registry (clients.toml): which examples exist, how to build and run them, what to expect."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .datafile import DataFileError, Key, Table, entry_name, from_dataclass, load_toml
from .fixture import has_text_only, load_rows
from .paths import DEFAULT_KID, INTEROP, REGISTRY

ENCODINGS = {"p1363", "der"}
SIGNS = {"raw", "library"}
ROWS = {"ilp", "api"}
EXPECT = {"accepted", "defective"}
PROTOCOL_VERSIONS = {1, 2, 3}


class RegistryError(DataFileError):
    """clients.toml breaks its schema or a rule, or a filter matches no example."""


@dataclass(frozen=True)
class Environment:
    name: str
    build: list[list[str]]
    inputs: list[str] = field(default_factory=list)  # globs whose content decides if a rebuild is due
    outputs: list[str] = field(default_factory=list)  # paths a cached build must still have
    cold_seconds: float = 0.0  # a cold build's time, measured: the longest builds start first


@dataclass(frozen=True)
class Client:
    id: str
    language: str
    environment: str
    run: list[str]
    encoding: str
    signs: str
    rows: str
    expect: str = "accepted"
    defect: str | None = None
    omit_rows: list[str] = field(default_factory=list)
    omit_columns: list[str] = field(default_factory=list)
    key: str = DEFAULT_KID  # which key of interop/keys the example authenticates with
    known_faults: dict = field(default_factory=dict)  # fault name -> outcome of a third-party library, reported
    note: str = ""
    # The variant's settings (CLIENTS.md, "Variants are registry data"):
    protocol_version: int = 1  # passed as ILP_PROTOCOL_VERSION
    rows_file: str = "rows.jsonl"  # a fixture in interop/: ILP_ROWS, and what the stub's rows are compared with
    tls: bool = False  # run against a TLS stub (serve --tls); ILP_TLS_CA names its CA

    @property
    def rows_path(self) -> Path:
        return INTEROP / self.rows_file

    @property
    def sends_raw_signature(self) -> bool:
        """Builds r||s itself: exposed to the 1-in-128 unpadded-scalar defect."""
        return self.signs == "raw" or self.encoding == "p1363"


@dataclass(frozen=True)
class Registry:
    environments: dict[str, Environment]
    clients: list[Client]

    def select(self, filters: list[str]) -> list[Client]:
        """Clients whose id, language or environment is one of `filters` (all when empty)."""
        if not filters:
            return list(self.clients)
        chosen = [c for c in self.clients if {c.id, c.language, c.environment} & set(filters)]
        unknown = [f for f in filters if not any(f in (c.id, c.language, c.environment) for c in self.clients)]
        if unknown:
            raise RegistryError(f"no example matches {', '.join(unknown)}; known ids: "
                                f"{', '.join(c.id for c in self.clients)}")
        return chosen


# The file's schema: the dataclasses' fields (their types and defaults), and the allowed values.
_FILE = Table({
    "environment": Key(dict, {}, values=from_dataclass(Environment, exclude={"name"})),  # the name is the table's
    "client": Key(list, [], each=from_dataclass(Client, "id", {
        "encoding": ENCODINGS, "signs": SIGNS, "rows": ROWS, "expect": EXPECT, "protocol_version": PROTOCOL_VERSIONS})),
})


def select_run(filters: list[str]) -> tuple[Registry, list[Client], bool]:
    """(the registry, its examples to run, whether the negative matrix runs) for a command line's filters:
    no filter means everything; 'negative' names the negative matrix; anything else an example id,
    language or environment."""
    registry = load_registry()
    examples = [f for f in filters if f != "negative"]
    clients = registry.select(examples) if examples or not filters else []
    return registry, clients, not filters or "negative" in filters


def load_registry(path: Path = REGISTRY) -> Registry:
    data = load_toml(path, _FILE, RegistryError)
    environments = {name: Environment(name, **spec) for name, spec in data["environment"].items()}
    clients = []
    for index, spec in enumerate(data["client"], 1):
        client = Client(**spec)
        _check(client, environments, f"{path}: {entry_name('client', index, spec, 'id')}")
        clients.append(client)
    ids = [c.id for c in clients]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RegistryError(f"{path}: duplicate client ids: {', '.join(duplicates)}")
    return Registry(environments, clients)


def _check(client: Client, environments: dict, where: str) -> None:
    """The rules the schema cannot say: files, environments, and what goes together."""
    if Path(client.rows_file).name != client.rows_file or not client.rows_path.is_file():
        raise RegistryError(f"{where}: rows_file = {client.rows_file!r}; expected the name of a rows fixture in {INTEROP}")
    rows = load_rows(client.rows_path)
    if client.rows == "ilp" and (client.protocol_version != 1 or not has_text_only(rows)):
        raise RegistryError(f"{where}: rows = 'ilp' sends the fixture's text: it goes with protocol_version 1 and a "
                            f"fixture whose every row has a text form and no binary value ({client.rows_file} "
                            f"at protocol_version {client.protocol_version})")
    textless = [row["id"] for row in rows if row["ilp"] is None]
    if client.protocol_version == 1 and textless:
        raise RegistryError(f"{where}: protocol_version 1 cannot send rows without a text form "
                            f"({client.rows_file}: {', '.join(textless)}); they need 2 or 3")
    if client.environment not in environments:
        raise RegistryError(f"{where}: unknown environment {client.environment!r}")
    if (client.expect == "defective") != (client.defect is not None):
        raise RegistryError(f"{where}: expect = 'defective' goes with a `defect` reason code, and only then")
