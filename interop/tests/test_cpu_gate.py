"""The CPU gate (cpu_gate.py): a slot is held while its process works and given back once it waits."""

from __future__ import annotations

import subprocess
import sys
import time

from interop.cpu_gate import CpuGate, cpu_seconds


def _wait_released(gate: CpuGate, timeout: float) -> float | None:
    """Seconds until a slot of a one-slot gate is free again, or None within `timeout`."""
    started = time.monotonic()
    if gate._slots.acquire(timeout=timeout):  # the test looks at the slot itself
        gate._slots.release()
        return time.monotonic() - started
    return None


def test_a_waiting_process_gives_its_slot_back_and_a_busy_one_keeps_it():
    gate = CpuGate(1)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    busy = None
    try:
        held = gate.hold()
        held.started(sleeper.pid)
        assert _wait_released(gate, 3.0) is not None  # idle long before it ends
        assert sleeper.poll() is None
        busy = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 2\nwhile time.time() < end: pass"])
        held = gate.hold()
        held.started(busy.pid)
        assert _wait_released(gate, 1.0) is None  # still working
        assert cpu_seconds(busy.pid) > 0.3
        held.release()  # the run ended: given back at once, and only once
        held.release()
        assert _wait_released(gate, 0.1) is not None
    finally:
        for proc in (sleeper, busy):
            if proc is not None:
                proc.kill()
                proc.wait()
    assert cpu_seconds(sleeper.pid) is None  # gone
