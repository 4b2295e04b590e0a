"""What a long run shows while it runs: on a terminal, live progress drawn by `rich` (the examples
running, each one's handshakes against the evidence it still needs, the fault runs, time elapsed);
without one (CI, a pipe), plain lines, one per finished step."""

from __future__ import annotations

import sys
import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .evidence import Rule, Tally


class RunProgress:
    """Use as `with RunProgress() as progress:`; every method may be called from any thread."""

    def __init__(self, live: bool | None = None):
        """live: draw live progress (default: when stdout is a terminal)."""
        self.live = sys.stdout.isatty() if live is None else live
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> RunProgress:  # noqa: PYI034 (self)
        if self.live:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                                 console=Console(file=sys.stdout), transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def line(self, text: str) -> None:
        """A line of the run's log, above the live display when there is one."""
        with self._lock:
            if self._bar is not None:
                self._bar.console.print(text, markup=False, highlight=False)
            else:
                print(text, flush=True)

    def phase(self, name: str, total: int) -> None:
        """A phase of `total` steps (the examples, the fault runs); `step(name)` counts one done."""
        if self._bar is not None:
            with self._lock:
                self._tasks[name] = self._bar.add_task(name, total=total, note="")

    def step(self, name: str, note: str = "") -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(self._tasks[name], advance=1, note=note)

    def batch(self, example: str, encoding: str, tally: Tally, rule: Rule) -> None:
        """An example's handshakes so far, against its cap, and the edge cases it still needs."""
        if self._bar is None:
            return
        missing = rule.missing(encoding, tally)
        note = ("still needs " + ", ".join(c.shown for c in missing)) if missing and rule.k else "evidence in"
        with self._lock:
            task = self._tasks.get(example)
            if task is None:
                task = self._tasks[example] = self._bar.add_task(f"  {example}", total=rule.cap, note="")
            self._bar.update(task, completed=tally.handshakes, note=note)

    def finished(self, example: str) -> None:
        """The example's run is over: its line leaves the display."""
        if self._bar is not None:
            with self._lock:
                task = self._tasks.pop(example, None)
                if task is not None:
                    self._bar.remove_task(task)
