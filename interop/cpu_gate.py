"""At most N processes busy on the CPU at once, however many are running.

A fault run is mostly waiting (on a challenge that comes late or never), but its start-up is CPU work,
a JVM's the most, and its ILP_TIMEOUT_S covers that start-up too: started all at once on two cores,
each got a sixth of a core and timed out (measured: java-questdb-tls under every fault). So a run takes
a slot before it starts and gives it back once its process has gone idle (it used less than
IDLE_SHARE of a core over the last IDLE_WINDOW seconds, read from /proc) or has ended; the runs that
only wait then overlap freely.
"""

from __future__ import annotations

import os
import threading
import time

POLL = 0.05  # seconds between two looks at a busy process's CPU time
IDLE_WINDOW = 0.2  # seconds over which a process must stay idle
IDLE_SHARE = 0.1  # of one core: below this over the window, the process is waiting, not working
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """The user and system CPU time of process `pid` so far (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime and stime, fields 14 and 15 of stat(5)


class CpuGate:
    def __init__(self, slots: int):
        self._slots = threading.Semaphore(slots)

    def hold(self) -> Held:
        """Wait for a slot; give the returned object the process's pid once it has started."""
        self._slots.acquire()
        return Held(self._slots)


class Held:
    """One slot, given back once: when its process goes idle or ends (`release`), whichever comes first."""

    def __init__(self, slots: threading.Semaphore):
        self._slots = slots
        self._lock = threading.Lock()
        self._released = False

    def started(self, pid: int) -> None:
        threading.Thread(target=self._watch, args=(pid,), daemon=True, name=f"cpu-gate-{pid}").start()

    def _watch(self, pid: int) -> None:
        samples: list[tuple[float, float]] = []  # (when, CPU seconds so far), oldest first
        while not self._released:
            used = cpu_seconds(pid)
            if used is None:
                break
            now = time.monotonic()
            samples.append((now, used))
            old = [(t, c) for t, c in samples if now - t >= IDLE_WINDOW]
            if old:
                then, was = old[-1]  # the latest sample at least a window ago
                if used - was < IDLE_SHARE * (now - then):
                    break
                samples = samples[len(old) - 1:]
            time.sleep(POLL)
        self.release()

    def release(self) -> None:
        with self._lock:
            if not self._released:
                self._released = True
                self._slots.release()
