"""The stub as a subprocess, exactly as other tools script it: `python -m server_stub serve`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from server_stub.records import Event, check, read_events

from .paths import SCHEMA

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class StubError(RuntimeError):
    pass


class StubProcess:
    """Start with `with StubProcess(auth_db, events_path) as stub:`; stub.events() after the block.

    The stub starts with the gallery's tables declared (`--schema`, interop/schema.toml), as QuestDB does
    in the parity run: the fixtures' DECIMAL columns exist before the first row."""

    def __init__(self, auth_db: Path, events_path: Path, *extra_args: str, schema: Path | None = SCHEMA,
                 tls: bool = False, niceness: int = 0):
        """tls: the stub speaks TLS, its throwaway CA and certificate beside the events file; `tls_ca`
        names the CA file once it listens. niceness > 0: it runs under `nice`."""
        self.events_path = Path(events_path)
        tls_dir = self.events_path.with_name(self.events_path.stem + ".tls")
        self.cmd = [*(["nice", "-n", str(niceness)] if niceness else []), sys.executable, "-m", "server_stub", "serve", "--auth-db", str(auth_db),
                    "--port", "0", "--events", str(self.events_path),
                    *(["--schema", str(schema)] if schema is not None else []),
                    *(["--tls", "--tls-dir", str(tls_dir)] if tls else []), *extra_args]
        # The stub's stderr goes to a file, never to a pipe nobody reads while it runs (a full pipe
        # would block its loop).
        self.stderr_path = self.events_path.with_name(self.events_path.name + ".stderr")
        self.proc: subprocess.Popen | None = None
        self.host: str | None = None
        self.port: int | None = None
        self.tls_ca: Path | None = None
        self.stderr = ""

    def __enter__(self) -> StubProcess:  # noqa: PYI034 (self, started)
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        line = _readline_with_timeout(self.proc, STARTUP_TIMEOUT)
        try:
            listening = check(json.loads(line), "the stub's listening line")
            self.host, self.port = listening["host"], listening["port"]
            ca = listening.get("tls", {}).get("ca")
            self.tls_ca = Path(ca) if ca else None
        except (ValueError, KeyError):  # not JSON, or not a listening record (records.EventsError)
            self.proc.kill()
            self.proc.communicate(timeout=STOP_TIMEOUT)
            raise StubError(f"stub did not start: {' '.join(self.cmd)}\nexit {self.proc.returncode}\n"
                            f"stdout: {line!r}\nstderr: {self._stderr_text()}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM, then wait: the stub flushes every event before it exits."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate(timeout=STOP_TIMEOUT)
            self.stderr = self._stderr_text()
            raise StubError(f"stub did not stop within {STOP_TIMEOUT} s of SIGTERM") from None
        self.stderr = self._stderr_text()
        if self.proc.returncode != 0:
            raise StubError(f"stub exited {self.proc.returncode}: {self.stderr}")

    def _stderr_text(self) -> str:
        return self.stderr_path.read_text("utf-8", errors="replace")

    def events(self) -> list[Event]:
        """Every event the stub wrote, each checked against its record (server_stub.records)."""
        return list(read_events(self.events_path))


def _readline_with_timeout(proc: subprocess.Popen, timeout: float) -> str:
    result = [""]
    reader = threading.Thread(target=lambda: result.__setitem__(0, proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0]
