"""The one place that assembles bench.json: every part's figures, the machine and commit they were
measured on, and the ratios against targets.toml (each with its target and whether it is met: stated,
never asserted). report.py renders the table from what this builds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from . import report
from .rewrite import AFTER, BEFORE
from .shapes import ARRAY, BINARY_DOUBLES, TEXT_FLOATS


def measured() -> dict:
    """What the parts fill in, by the keys bench.json gives them (None: skipped, or failed)."""
    return {"handshakes": {}, "rows": {}, "openssl": None, "floor": None, "feed": None, "rewrite": None,
            "interop": None, "interop_cold": None, "docs_warm": None, "profile": {}}


def build(*, started: datetime, machine: dict, git: dict, config: dict, targets: dict, parts: dict, errors: dict,
          seconds: float) -> dict:
    """bench.json: `parts` as `measured()` keys them, QuestDB's version and start-up time (when it ran)
    in the machine's description, the ratios, the run's wall seconds and the printed table."""
    questdb = parts.get("questdb") or {}
    if "version" in questdb:
        machine = {**machine, "questdb": questdb["version"], "questdb_startup_seconds": questdb["startup_seconds"]}
    result = {
        "started": started.isoformat(timespec="seconds"), "machine": machine, "git": git,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in config.items()},
        "targets": targets, "errors": errors, **{k: v for k, v in parts.items() if k != "questdb"},
    }
    result["ratios"] = ratios(result, targets)
    result["seconds"] = round(seconds, 1)
    result["table"] = report.render(result)
    return result


AT_LEAST, AT_MOST = "at least", "at most"
# bench.json's key of each time to verdict (times.py) and its key in targets.toml [times]
TIMES = (("interop", "interop_warm_seconds", "interop run, warm"),
         ("interop_cold", "interop_cold_seconds", "interop run, cold"),
         ("docs_warm", "docs_warm_seconds", "docs check, warm"))


def ratios(result: dict, targets: dict) -> list[dict]:
    """Each ratio with its target (None: shown for context only) and whether it is met: rates against
    rates (met at least at the target), then each time to verdict against its target (met at most 1)."""
    hs, rows = result["handshakes"], result["rows"]
    stub_hs, qdb_hs = _rate(hs.get("stub")), _rate(hs.get("questdb"))
    verify = (result.get("openssl") or {}).get("verify_per_second")
    stub_rows, qdb_rows = _rate(rows.get("stub")), _rate(rows.get("questdb"))
    per_second = targets["rows"]["per_second"]
    shapes = (result.get("feed") or {}).get("shapes") or {}
    parsers = (result.get("rewrite") or {}).get("parsers") or {}
    text = _rate(shapes.get(TEXT_FLOATS))
    pairs = [
        ("stub / QuestDB handshakes/s", stub_hs, qdb_hs, targets["handshakes"]["vs_questdb"]),
        ("stub handshakes/s / OpenSSL verify/s (1 core)", stub_hs, verify, targets["handshakes"]["vs_openssl_verify"]),
        ("QuestDB handshakes/s / OpenSSL verify/s (1 core)", qdb_hs, verify, None),
        # Per core the server itself used: on a small machine the load generator and the kernel take
        # cores too, so the rate alone can stay below what the server would do with a whole core.
        ("stub handshakes per server core-second / OpenSSL verify/s", _per_core(hs.get("stub")), verify, None),
        ("QuestDB handshakes per server core-second / OpenSSL verify/s", _per_core(hs.get("questdb")), verify, None),
        ("stub / QuestDB ILP rows/s", stub_rows, qdb_rows, targets["rows"]["vs_questdb"]),
        (f"stub ILP rows/s / {per_second:,} rows/s", stub_rows, per_second, 1.0),
        (f"pure-Python floor rows/s / {per_second:,} rows/s", (result.get("floor") or {}).get(
            "build_encode_rows_per_second"), per_second, None),
        # IlpStream.feed alone, each pair measured side by side in one run (feed.py)
        (f"feed rows/s: {BINARY_DOUBLES} / {TEXT_FLOATS}", _rate(shapes.get(BINARY_DOUBLES)), text, None),
        (f"feed rows/s: {ARRAY} / {TEXT_FLOATS}", _rate(shapes.get(ARRAY)), text, None),
        ("feed text rows/s: after / before the grammar rewrite", _rate(parsers.get(AFTER)), _rate(parsers.get(BEFORE)),
         targets["ilp"]["rewrite_after_vs_before"]),
    ]
    out = [ratio(name, top, bottom, target) for name, top, bottom, target in pairs]
    for key, target_key, label in TIMES:
        seconds = targets["times"][target_key]
        out.append(ratio(f"{label}: s / {seconds:g} s", _seconds(result.get(key)), seconds, 1.0, AT_MOST))
    return out


def ratio(name: str, top: float | None, bottom: float | None, target: float | None, bound: str = AT_LEAST) -> dict:
    """top / bottom (None when either is missing), met when at least (or at most) `target`; a ratio
    without a target is context only (met None)."""
    value = top / bottom if top is not None and bottom else None
    met = None if value is None or target is None else value >= target if bound == AT_LEAST else value <= target
    return {"name": name, "value": None if value is None else round(value, 4), "target": target, "bound": bound,
            "met": met}


def _per_core(part: dict | None) -> float | None:
    rate, cores = _rate(part), (part or {}).get("server_cpu_cores")
    return rate / cores if rate is not None and cores else None


def _rate(part: dict | None) -> float | None:
    return None if not part or part.get("error") else part.get("per_second")


def _seconds(part: dict | None) -> float | None:
    return None if not part or part.get("error") else part.get("seconds")
