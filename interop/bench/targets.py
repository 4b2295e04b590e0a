"""targets.toml, checked by the one loader (interop/datafile.py): the targets stated beside the figures,
never asserted. A misspelt or missing key fails the run before anything is measured, naming the key."""

from __future__ import annotations

from pathlib import Path

from ..datafile import Key, Table, load_toml
from ..paths import BENCH_TARGETS


def _positive(value: float) -> str | None:
    return None if value > 0 else "expected seconds above 0"


TARGETS = Table({
    "handshakes": Key(dict, table=Table({"vs_questdb": Key(float), "vs_openssl_verify": Key(float)})),
    "rows": Key(dict, table=Table({"vs_questdb": Key(float), "per_second": Key(int)})),
    "ilp": Key(dict, table=Table({"rewrite_after_vs_before": Key(float)})),
    # time to verdict: wall seconds at most (times.py measures them, figures.py states them)
    "times": Key(dict, table=Table({"interop_warm_seconds": Key(float, check=_positive),
                                    "interop_cold_seconds": Key(float, check=_positive),
                                    "docs_warm_seconds": Key(float, check=_positive)})),
})


def load_targets(path: Path = BENCH_TARGETS) -> dict:
    return load_toml(path, TARGETS)
