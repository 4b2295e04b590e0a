"""Where a run of the docs check spends its time: seconds per phase (extraction, preparation, repetitions,
fault runs, checks), summed over the threads that run at once, beside the run's wall time. The run
prints it last but one (`docs: time: ...`), so that a slow phase shows without a profiler."""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager

PHASES = ("extraction", "checks", "preparation", "repetitions", "fault runs")


class Clock:
    def __init__(self):
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._seconds: Counter = Counter()
        self._count: Counter = Counter()

    @contextmanager
    def phase(self, name: str):
        """Count the block's seconds (and one more step) under `name`, whichever thread runs it."""
        began = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self._seconds[name] += time.perf_counter() - began
                self._count[name] += 1

    def seconds(self, name: str) -> float:
        with self._lock:
            return self._seconds[name]

    @property
    def wall(self) -> float:
        return time.perf_counter() - self.started

    def line(self) -> str:
        """'time: 84 s wall; summed over what ran at once: preparation 41.2 s (14 steps), ...'."""
        with self._lock:
            names = [p for p in PHASES if self._count[p]] + sorted(set(self._count) - set(PHASES))
            parts = [f"{name} {self._seconds[name]:.1f} s ({self._count[name]} steps)" for name in names]
        return f"time: {self.wall:.0f} s wall; summed over what ran at once: " + (", ".join(parts) or "nothing")
