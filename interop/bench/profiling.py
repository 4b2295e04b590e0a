"""Top functions of a pyinstrument session, by self time and by cumulative time, idle time set apart.

pyinstrument samples wall time, so the event loop's wait in `selectors.EpollSelector.select` (nothing
to do) is in the profile too; it is reported as idle and every percentage is of the busy time. Under
uvloop (the stub's default loop) the wait happens inside uvloop's C code, which a Python profiler sees
as the self time of the one frame that entered it (`run` in asyncio/runners.py): that time, the loop's
own work and its wait together, is reported as such and counted as busy.
Cumulative time counts a function once per stack (recursion is not counted twice) and excludes idle
time below it; the frames that hold (almost) all the busy time (the runner, asyncio's loop) are left
out of the cumulative list, which would otherwise start with them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TOP = 15
OUTER_SHARE = 0.97  # a frame with this share of the busy time or more is the loop itself


def _key(frame) -> tuple[str, str, int | None]:
    path = frame.file_path or ""
    for marker in ("/site-packages/", "/src/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":
                path = path.split("/", 1)[1] if "/" in path else path
            break
    return frame.function, path, frame.line_no


_IDLE_BUILTINS = ("epoll.poll", "poll.poll", "select", "devpoll.poll", "kqueue.control")


def _is_idle(key: tuple[str, str, int | None]) -> bool:
    """The event loop waiting for the network: the C call under selectors' select() (or its self time)."""
    function, path, _ = key
    return (function == "select" and path.endswith("selectors.py")) or (
        function in _IDLE_BUILTINS and path.startswith("<built-in>"))


def _is_c_loop(key: tuple[str, str, int | None]) -> bool:
    """The frame that runs a loop written in C (uvloop): its self time is the loop's work and wait."""
    function, path, _ = key
    return function == "run" and path.endswith("asyncio/runners.py")


def summarize(session_path: Path, top: int = TOP) -> dict:
    from pyinstrument.session import Session  # bench-time dependency

    session = Session.load(str(session_path))
    root = session.root_frame()
    if root is None:
        return {"seconds": 0.0, "idle_seconds": 0.0, "busy_seconds": 0.0, "self": [], "cumulative": []}
    self_time: Counter = Counter()
    busy_cumulative: Counter = Counter()
    idle_below: dict[int, float] = {}

    # post-order: idle time below every frame (synthetic frames are part of their parent's self time)
    order, stack = [], [root]
    while stack:
        frame = stack.pop()
        order.append(frame)
        stack += [c for c in frame.children if not c.is_synthetic]
    for frame in reversed(order):
        key = _key(frame)
        own_idle = frame.total_self_time if _is_idle(key) else 0.0
        idle_below[id(frame)] = own_idle + sum(idle_below[id(c)] for c in frame.children if not c.is_synthetic)

    stack = [(root, frozenset())]
    while stack:
        frame, above = stack.pop()
        key = _key(frame)
        self_time[key] += frame.total_self_time
        if key not in above:
            busy_cumulative[key] += frame.time - idle_below[id(frame)]
        stack += [(c, above | {key}) for c in frame.children if not c.is_synthetic]

    total = root.time
    idle = sum(t for k, t in self_time.items() if _is_idle(k))
    busy = max(total - idle, 1e-9)

    def rows(counter: Counter, exclude) -> list[dict]:
        chosen = [(k, t) for k, t in counter.most_common() if not _is_idle(k) and not exclude(k, t)][:top]
        return [{"function": k[0], "where": f"{k[1]}:{k[2]}", "seconds": round(t, 3),
                 "percent_of_busy": round(100 * t / busy, 1)} for k, t in chosen]

    c_loop = sum(t for k, t in self_time.items() if _is_c_loop(k))
    return {"seconds": round(total, 3), "idle_seconds": round(idle, 3), "busy_seconds": round(busy, 3),
            "c_loop_seconds": round(c_loop, 3),
            "self": rows(self_time, lambda k, t: False),
            "cumulative": rows(busy_cumulative, lambda k, t: t >= OUTER_SHARE * busy)}


def format_summary(name: str, summary: dict) -> str:
    head = (f"profile of the stub, {name}: {summary['seconds']:.1f} s sampled, {summary['idle_seconds']:.1f} s idle "
            f"(waiting in epoll), {summary['busy_seconds']:.1f} s busy; % of busy time")
    if summary.get("c_loop_seconds", 0) >= 0.05 * summary["seconds"]:
        head += (f"; {summary['c_loop_seconds']:.1f} s in the C event loop (uvloop: its own work and its wait for "
                 "the network, one frame to a Python profiler: `run`)")
    lines = [head + (f"; {summary['measured_under_profiler']}" if "measured_under_profiler" in summary else "")]
    for title, kind in (("self time", "self"), ("cumulative time", "cumulative")):
        lines.append(f"  top by {title}:")
        for entry in summary[kind]:
            lines.append(f"    {entry['percent_of_busy']:5.1f}%  {entry['seconds']:7.3f} s  {entry['function']}  "
                         f"({entry['where']})")
    return "\n".join(lines)
