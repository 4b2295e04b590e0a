"""A key id of its own for every example, so that one stub can serve many examples at once and still
tell their connections apart (the auth event names the key id).

An example's key id is its registry id. Its key is the one it is registered with (`key` in
clients.toml, testUser1 by default): the same private key and the same auth-file line, x and y
written exactly as interop/keys/auth.txt writes them (testUser2's x keeps its 33 bytes), under the
example's own id. The run's auth file holds interop/keys/auth.txt as it is (the negative matrix
plays its key ids) and then one line per example.
"""

from __future__ import annotations

import json
from pathlib import Path

from .paths import AUTH_DB, write_private


def auth_tokens(auth_db: Path = AUTH_DB) -> dict[str, list[str]]:
    """{key id: [type, x, y]} as the auth file writes them (comments and blank lines left out)."""
    tokens = {}
    for line in auth_db.read_text("utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) == 4:
            tokens[words[0]] = words[1:]
    return tokens


def write_example_keys(clients, keys: dict[str, Path], folder: Path, auth_db: Path = AUTH_DB
                       ) -> tuple[Path, dict[str, Path]]:
    """(the run's auth file, {example id: its JWK file, mode 0600}) in `folder`; `keys` are the
    registered keys' private copies (paths.private_key_copies)."""
    folder.mkdir(parents=True, exist_ok=True)
    registered = auth_tokens(auth_db)
    lines = [auth_db.read_text("utf-8").rstrip("\n"), "", "# One key id per example of this run (example_keys.py)."]
    jwks = {}
    for client in clients:
        lines.append(" ".join([client.id, *registered[client.key]]))
        jwk = json.loads(keys[client.key].read_text("utf-8")) | {"kid": client.id}
        jwks[client.id] = write_private(folder / f"{client.id}.jwk.json", json.dumps(jwk).encode())
    run_auth = folder / "auth.txt"
    run_auth.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_auth, jwks
