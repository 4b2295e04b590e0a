"""The event loop the stub runs on.

uvloop (a dependency on Linux and macOS) where it is installed: its transports are written in C,
and `nox -s bench` measured about 30% more handshakes per second with it than with asyncio's own
loop (the profile had the event loop's Python code at about half of a handshake's time).
asyncio's loop stays selectable (`serve --loop asyncio`, `run_stub(..., loop="asyncio")`), and the
stub's socket tests run on both.
"""

from __future__ import annotations

import asyncio
import importlib.util

LOOPS = ("uvloop", "asyncio")


def default_loop() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def new_event_loop(name: str | None = None) -> asyncio.AbstractEventLoop:
    """A new event loop of the named kind (default_loop() when None)."""
    name = name or default_loop()
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise RuntimeError("the uvloop event loop was asked for, but uvloop is not installed "
                               "(pip install uvloop, or use the asyncio loop)") from None
        return uvloop.new_event_loop()
    if name == "asyncio":
        return asyncio.new_event_loop()
    raise ValueError(f"unknown event loop {name!r}; known: {', '.join(LOOPS)}")
