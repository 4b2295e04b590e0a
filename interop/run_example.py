"""Runs one example program as the client contract says: input from ILP_* variables, bounded in time."""

from __future__ import annotations

import os
from pathlib import Path

from .build import fill
from .paths import REPO
from .process import Finished, run
from .registry import Client

CONTRACT_DEFAULT_TIMEOUT_S = 10.0  # ILP_TIMEOUT_S when unset (CLIENTS.md), and what the matrix runs give


def run_example(client: Client, build_dir: Path, host: str, port: int, key: Path, connections: int,
                timeout: float, example_timeout: float = CONTRACT_DEFAULT_TIMEOUT_S, tls_ca: Path | None = None,
                niceness: int = 0, started=None) -> Finished:
    """Run `client` once, as CLIENTS.md says; `timeout` bounds the whole process, `example_timeout`
    (ILP_TIMEOUT_S) each of its waits; `tls_ca`, for a TLS stub, is ILP_TLS_CA; `niceness` > 0 runs it
    under `nice`, yielding the cores to the runs that race a clock; `started` hears its pid (process.run)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ILP_")}
    env.update(ILP_HOST=host, ILP_PORT=str(port), ILP_KEY=str(key), ILP_ROWS=str(client.rows_path),
               ILP_CONNECTIONS=str(connections), ILP_TIMEOUT_S=f"{example_timeout:g}",
               ILP_PROTOCOL_VERSION=str(client.protocol_version))
    if tls_ca is not None:
        env["ILP_TLS_CA"] = str(tls_ca)
    command = fill(client.run, build_dir)
    if niceness:
        command = ["nice", "-n", str(niceness), *command]
    return run(command, REPO, timeout, env, started=started)
