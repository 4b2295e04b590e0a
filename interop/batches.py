"""An example run in batches until the evidence is in (evidence.py), against a stub it shares with
other examples (shared_stub.py): each batch is one process with ILP_CONNECTIONS = the batch's size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .evidence import Rule, Tally
from .judge import ClientResult, judge_client, run_failed
from .registry import Client
from .run_example import run_example
from .shared_stub import SharedStub

SETTLE_TIMEOUT = 5.0  # seconds for the stub to record the closes of a batch whose process has ended
SECONDS_PER_CONNECTION = 0.1  # on top of a minute: a batch's whole-process bound
# Batches run under `nice`: they race no clock (their waits are bounded by the contract's 10 s), while a
# fault run beside them does (its ILP_TIMEOUT_S covers a JVM's start-up too); measured: with both at the
# same priority, the Java lines failed their fault runs with a timeout on a loaded machine.
BATCH_NICENESS = 19


def run_until_evidence(client: Client, stub: SharedStub, jwk: Path, rule: Rule, build_dir: Path,
                       expected_rows: list[dict], progress: Callable[[Client, Tally], None] = lambda c, t: None
                       ) -> ClientResult:
    """Batches of `client` until `rule` is done with what the stub saw (or a batch fails), then the judge's
    verdict over all of them. `progress` hears the tally after every batch."""
    runs, requested = [], 0
    tally = Tally()
    while not rule.done(client.encoding, tally):
        size = rule.next_batch(tally)
        run = run_example(client, build_dir, stub.host, stub.port, jwk, size,
                          timeout=60 + SECONDS_PER_CONNECTION * size, tls_ca=stub.tls_ca, niceness=BATCH_NICENESS)
        runs.append(run)
        requested += size
        conns = stub.settle(client.id, requested, SETTLE_TIMEOUT)
        tally = Tally.of(conn.auth for conn in conns.values() if conn.auth is not None)
        progress(client, tally)
        if run_failed(client, run):
            break  # a failed batch ends the run: the judge reports it
        if tally.handshakes < requested:
            break  # connections went missing: more batches would not explain it
    return judge_client(client, requested, runs, stub.connections(client.id), expected_rows, rule)
