"""Where everything the harness reads lives, defined once for every entry point (interop, docs,
questdb, bench) and their tests; and the test keys as private copies."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INTEROP = REPO / "interop"
DEFAULT_BUILD_DIR = REPO / "build"

KEYS = INTEROP / "keys"  # public TEST keys (*.jwk.json) and the auth file that lists them
AUTH_DB = KEYS / "auth.txt"
DEFAULT_KID = "testUser1"  # the documentation's key id, the one every example authenticates with by default
DEFAULT_JWK = KEYS / f"{DEFAULT_KID}.jwk.json"

ROWS = INTEROP / "rows.jsonl"  # the rows fixture (contract 3): text rows, protocol version 1
ROWS_V2 = INTEROP / "rows_v2.jsonl"  # binary doubles and DOUBLE arrays (protocol version 2)
ROWS_V3 = INTEROP / "rows_v3.jsonl"  # the same and DECIMAL values (protocol version 3)
SCHEMA = INTEROP / "schema.toml"  # the tables declared before the rows arrive (DECIMAL columns), for the stub and QuestDB
REGISTRY = INTEROP / "clients.toml"  # the client registry (contract 4)
NEGATIVE_CASES = INTEROP / "negative_cases.toml"
FAULTS = INTEROP / "faults.toml"
EVIDENCE = INTEROP / "evidence.toml"  # when an example's run stops: on evidence (evidence.py)

DOCS = INTEROP / "docs"
DOCS_EXPECTATIONS = INTEROP / "docs_expectations.toml"
DOCS_SUBSTITUTIONS = DOCS / "substitutions.toml"
DOCS_DEPENDENCIES = DOCS / "dependencies.toml"
DOCS_CONF_KEYS = DOCS / "known_conf_keys.toml"
DOCS_CLASSIFICATION = DOCS / "classify.toml"
DOCS_FIXES = DOCS / "fixes.toml"
DOCS_OWN_KEYS = DOCS / "own_keys.toml"
DOCS_SHIMS = DOCS / "shims"

QUESTDB_CONFIG = INTEROP / "questdb" / "questdb.toml"
BENCH_TARGETS = INTEROP / "bench" / "targets.toml"


def private_key_copies(folder: Path) -> dict[str, Path]:
    """{key id: path}: every test key of KEYS copied into `folder` with mode 0600 (they are private
    keys, even if public test vectors)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {source.name.removesuffix(".jwk.json"): write_private(folder / source.name, source.read_bytes())
            for source in sorted(KEYS.glob("*.jwk.json"))}


def write_private(target: Path, data: bytes) -> Path:
    """Write `data` to `target` created with mode 0600 from the start (O_EXCL: never through an existing
    file or link; one left by an earlier run is replaced)."""
    target.unlink(missing_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return target
