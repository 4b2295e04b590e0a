"""The printed table: the figures, then the ratios against the targets (computed by figures.py); the
columns are written by ../report.py."""

from __future__ import annotations

from ..report import table
from .rewrite import AFTER, BEFORE


def render(result: dict) -> str:
    m, cfg = result["machine"], result["config"]
    hs, rows = result["handshakes"], result["rows"]
    qdb_name = f"QuestDB {m.get('questdb') or '?'}"
    openssl = result.get("openssl") or {}
    head = (f"bench: {m['cores']} cores, Python {m['python']}, {openssl.get('version') or 'OpenSSL ?'}, {qdb_name} "
            f"(java {m.get('java') or '?'}); load generator: {cfg['workers']} client processes, sequential "
            f"handshakes each; the stub is 1 process with 1 event loop ({m.get('stub_loop') or '?'}; 1 core at most)")
    git = result.get("git") or {}
    if git.get("commit"):
        head += f"; commit {git['commit'][:10]}" + (" + uncommitted stub changes" if git.get("stub_source_modified") else "")
    lines = [head, ""]
    grid = [["", "stub", qdb_name, "ceiling / target"]]

    def cells(part, show):
        if part is None:
            return "skipped"
        if part.get("error"):
            return "FAILED"
        return show(part)

    def row(label, show, ceiling=""):
        grid.append([label, cells(hs_or_rows[0], show), cells(hs_or_rows[1], show), ceiling])

    hs_or_rows = (hs.get("stub"), hs.get("questdb"))
    verify = (f"{openssl['verify_per_second']:,.1f} OpenSSL verify/s (1 core)" if "verify_per_second" in openssl
              else "OpenSSL: FAILED" if "openssl" in result["errors"] else "OpenSSL: skipped")
    row("handshakes/s", lambda p: f"{p['per_second']:,.1f}", verify)
    row(f"  handshakes in {cfg['duration']:g} s (+{cfg['warmup']:g} s warm-up)", lambda p: f"{p['handshakes']:,}")
    row("  slowest / fastest second", _spread)
    row("  latency p50 / p99 (ms)", lambda p: f"{p['latency_ms'].get('p50', '?')} / {p['latency_ms'].get('p99', '?')}")
    row("  load generator CPU (cores of 2)", lambda p: _num(p["generator_cpu_cores"]))
    row("  server CPU (cores), threads", lambda p: f"{_num(p['server_cpu_cores'])}, {p.get('server_threads', '?')}")
    row("  whole machine busy (cores of 2)", _busy)
    row("  accepted (checked)", lambda p: p["checked"])
    hs_or_rows = (rows.get("stub"), rows.get("questdb"))
    row("ILP rows/s", lambda p: f"{p['per_second']:,.0f}", f"{result['targets']['rows']['per_second']:,} (target)")
    row(f"  rows of {cfg['rows']:,} done", lambda p: f"{p['rows_done']:,}" + (" (time limit)" if p["limited"] else ""))
    row("  s, first byte to recorded/visible", lambda p: f"{p['seconds']:.2f}")
    row("  s, first byte to all sent", lambda p: "-" if p["send_seconds"] is None else f"{p['send_seconds']:.2f}")
    row("  load generator CPU (cores of 2)", lambda p: _num(p["generator_cpu_cores"]))
    row("  server CPU (cores)", lambda p: _num(p["server_cpu_cores"]))
    row("  whole machine busy (cores of 2)", _busy)
    lines.append(table(grid[0], grid[1:], rule=False))
    fl = result.get("floor")
    if fl:
        lines.append(f"ILP rows in-process, no network, 1 core: the stub's pipeline (split, parse, name rules, encode) "
                     f"{fl['pipeline_rows_per_second']:,} rows/s ({fl['pipeline_us_per_row']} us/row); building and "
                     f"encoding the row event alone, no parsing (the floor of any pure-Python stub) "
                     f"{fl['build_encode_rows_per_second']:,} rows/s ({fl['build_encode_us_per_row']} us/row)")
    lines += _feed_lines(result)
    lines.append("(whole machine: every process and the kernel's loopback TCP work; \"other\" is what neither the "
                 "load generator nor the server used)")
    lines += _time_lines(result)
    lines.append("")
    ratio_grid = [["ratio", "value", "target", "met"]]
    for r in result["ratios"]:
        ratio_grid.append([r["name"], "-" if r["value"] is None else f"{r['value']:.3f}",
                           "(context)" if r["target"] is None else f"{_BOUNDS[r['bound']]} {r['target']:.2f}",
                           {True: "yes", False: "NO", None: "-"}[r["met"]]])
    lines.append(table(ratio_grid[0], ratio_grid[1:], rule=False))
    failures = [f"{name}: {error}" for name, error in result["errors"].items()]
    problems = [f"{where}: {p}" for where, part in _parts(result) for p in (part or {}).get("problems", [])]
    if failures or problems:
        lines.append("")
        lines += [f"FAILED {line}" for line in failures] + [f"problem {line}" for line in problems]
    return "\n".join(lines)


def _feed_lines(result: dict) -> list[str]:
    lines = []
    fd, rw = result.get("feed"), result.get("rewrite")
    if fd:
        rates = "; ".join(f"{name} {f['per_second']:,.0f} ({f['bytes_per_row']:,} bytes/row, {f['us_per_row']} us/row)"
                          for name, f in fd["shapes"].items())
        lines.append(f"ILP rows through IlpStream.feed alone, in-process, {fd['rows']:,} rows, best of {fd['repeats']} "
                     f"rounds side by side, rows/s: {rates}")
    if rw:
        before, after = rw["parsers"][BEFORE], rw["parsers"][AFTER]
        lines.append(f"text rows through IlpStream.feed, the same {rw['rows']:,} rows, best of {rw['repeats']} rounds "
                     f"side by side: the parser before the grammar rewrite ({rw['source']}, from git) "
                     f"{before['per_second']:,.0f} rows/s ({before['us_per_row']} us/row), after it (server_stub.ilp) "
                     f"{after['per_second']:,.0f} rows/s ({after['us_per_row']} us/row)")
    return lines


_BOUNDS = {"at least": ">=", "at most": "<="}


def _time_lines(result: dict) -> list[str]:
    """One line for each time to verdict (times.py)."""
    cold = result.get("interop_cold") or {}
    docs = result.get("docs_warm") or {}
    warmup = docs.get("warmup")
    labels = {
        "interop": "interop run, warm (python -m interop)",
        "interop_cold": "interop run, cold (python -m interop from a clone of HEAD"
                        + (f" {cold['commit'][:10]}" if cold.get("commit") else "")
                        + ", empty build folder and GOCACHE, package caches kept)",
        "docs_warm": "docs check, warm (python -m interop.docs"
                     + (f", {len(docs['pages'])} default pages of the docs check" if docs.get("pages") else "")
                     + (f", after a warm-up run of {warmup['seconds']:.1f} s, exit {warmup['exit_code']}" if warmup
                        else "") + ")",
    }
    lines = []
    for key, label in labels.items():
        part = result.get(key)
        if part is None:
            lines.append(f"{label}: skipped")
        elif part.get("error"):
            lines.append(f"{label}: FAILED: {part['error']}")
        else:
            lines.append(f"{label}: {part['seconds']:.1f} s wall (exit {part['exit_code']}; "
                         f"{part.get('summary') or 'no summary line'})")
    return lines


def _parts(result: dict):
    for kind in ("handshakes", "rows"):
        for server in ("stub", "questdb"):
            yield f"{kind} {server}", result[kind].get(server)


def other_cores(part: dict) -> float | None:
    """Cores used during a measurement by neither the load generator nor the server (kernel work included)."""
    values = [part.get(k) for k in ("machine_busy_cores", "generator_cpu_cores", "server_cpu_cores")]
    return None if None in values else max(0.0, values[0] - values[1] - values[2])


def _spread(part: dict) -> str:
    series = part.get("per_second_series") or []
    return f"{min(series):,} / {max(series):,}" if series else "?"


def _busy(part: dict) -> str:
    other = other_cores(part)
    return f"{_num(part.get('machine_busy_cores'))} (other {_num(other)})"


def _num(value) -> str:
    return "?" if value is None else f"{value:.2f}"

