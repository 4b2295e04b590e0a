"""The boring part shared by the four Python examples (contract: interop/CLIENTS.md).

Reading and checking ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS and ILP_CONNECTIONS, loading the JWK and
the rows fixture, the one-line error and exit, and the connection loop; for the two raw examples,
decoding the JWK's d and the loop that reads the challenge up to its newline (as go/internal/example
and node/example_env.mjs do). The handshake's steps themselves stay in each example.
"""

import base64
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

TIMEOUT_S = 10  # every wait (connect, the challenge, sending) is bounded by this many seconds

_example_id = "?"
_connection = 0  # the connection being made, for error messages
_reporting = threading.Lock()  # taken by the one caller of fail() that prints and exits


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    kid: str  # the key id, sent first
    d: str  # the private scalar, unpadded base64url (JWK)
    x: str  # the public point, unpadded base64url (JWK)
    y: str
    rows: list  # the fixture's rows (dicts), in file order
    connections: int


class StepFailed(Exception):
    """'<step>: <what went wrong>', raised by step()."""


class BadSettings(Exception):
    """A problem with the environment, the key file or the rows file."""


def fail(message):
    """Print ONE line on stderr, '<example id>: <message>', and exit 1."""
    _reporting.acquire()  # if the watchdog's thread and SIGALRM both fire, the second waits here for the exit
    sys.stderr.write(f"{_example_id}: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    os._exit(1)  # also from the watchdog's thread, and without waiting for a library's threads


def run(example_id, send_once):
    """Read the environment, then call send_once(settings) ILP_CONNECTIONS times, one after another.

    The first failure ends the process with '<example id>: connection N: <step>: <what went wrong>'.
    """
    global _example_id, _connection
    _example_id = example_id
    settings = _read_settings()
    for number in range(1, settings.connections + 1):
        _connection = number
        try:
            send_once(settings)
        except Exception as exc:  # noqa: BLE001 (StepFailed, or a bug: either way ONE line, says CLIENTS.md)
            fail(f"connection {number}: {exc if isinstance(exc, StepFailed) else describe(exc)}")


@contextmanager
def step(what, watchdog_s=None):
    """Name what the block does, so that a failure inside reads '<what>: <what went wrong>'.

    watchdog_s is for the official clients, which do not bound every wait themselves (no connect
    timeout, no write timeout, SO_LINGER on close): if the block is still running after that many
    seconds, the process ends with '<what>: timed out after N s'. A timer thread covers the calls that
    release the GIL while they wait; SIGALRM covers the others (questdb 1.x connects holding the GIL):
    it interrupts the blocked system call, and the handler runs as soon as the call returns.
    """
    if watchdog_s:
        timer = threading.Timer(watchdog_s, _expire, (what, watchdog_s))
        timer.daemon = True
        timer.start()
        signal.signal(signal.SIGALRM, lambda _signum, _frame: _expire(what, watchdog_s))
        signal.setitimer(signal.ITIMER_REAL, watchdog_s)
    try:
        yield
    except Exception as exc:
        raise StepFailed(f"{what}: {describe(exc)}") from exc
    finally:
        if watchdog_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
            timer.cancel()


def _expire(what, seconds):
    fail(f"connection {_connection}: {what}: timed out after {seconds} s")


def describe(exc):
    """An exception as a short phrase: 'timed out after 10 s', 'Connection refused', the library's text."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {TIMEOUT_S} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _read_settings():
    try:
        host = _required("ILP_HOST")
        port = _positive_integer("ILP_PORT", _required("ILP_PORT"))
        if port > 65535:
            raise BadSettings(f"ILP_PORT must be at most 65535, got {port}")
        jwk = _load_jwk(_required("ILP_KEY"))
        rows = _load_rows(_required("ILP_ROWS"))
        connections = _positive_integer("ILP_CONNECTIONS", os.environ.get("ILP_CONNECTIONS", "1"))
    except BadSettings as exc:
        fail(exc)
    return Settings(host, port, jwk["kid"], jwk["d"], jwk["x"], jwk["y"], rows, connections)


def _required(name):
    value = os.environ.get(name, "")
    if value == "":
        raise BadSettings(f"{name} is not set")
    return value


def _positive_integer(name, text):
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise BadSettings(f'{name} must be a positive integer, got "{text}"')
    return int(text)


def _load_jwk(path):
    """The key file: {"kty":"EC","crv":"P-256","kid":..,"d":..,"x":..,"y":..}, coordinates unpadded base64url."""
    try:
        with open(path, encoding="utf-8") as file:
            jwk = json.load(file)
    except (OSError, ValueError) as exc:
        raise BadSettings(f"ILP_KEY {path}: {describe(exc)}") from exc
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise BadSettings(f'ILP_KEY {path}: not a P-256 key (kty must be "EC", crv "P-256")')
    for member in ("kid", "d", "x", "y"):
        if not isinstance(jwk.get(member), str) or jwk[member] == "":
            raise BadSettings(f'ILP_KEY {path}: "{member}" is missing')
    return jwk


def _load_rows(path):
    """The rows fixture: JSON lines, each with id, table, symbols, columns, timestamp and ilp."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().split("\n")
    except (OSError, ValueError) as exc:
        raise BadSettings(f"ILP_ROWS {path}: {describe(exc)}") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if line.strip() == "":
            continue
        where = f"ILP_ROWS {path}:{number}"
        try:
            row = json.loads(line)  # Python's ints are exact: 1700000000123456789 stays as it is
        except ValueError as exc:
            raise BadSettings(f"{where}: {exc}") from exc
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("id", "table", "ilp")):
            raise BadSettings(f'{where}: "id", "table" or "ilp" is missing')
        if not isinstance(row.get("symbols"), dict) or not isinstance(row.get("columns"), dict):
            raise BadSettings(f'{where}: "symbols" or "columns" is missing or malformed')
        if not (row.get("timestamp") is None or isinstance(row["timestamp"], dict)):
            raise BadSettings(f'{where}: "timestamp" is malformed')
        rows.append(row)
    return rows


# --- shared by the two raw-handshake examples --------------------------------------------------------


def private_key(settings):
    """The signing key from the JWK's d (base64url WITHOUT padding: put the padding back first)."""
    from cryptography.hazmat.primitives.asymmetric import ec  # only the raw examples' venv has it

    d = base64.urlsafe_b64decode(settings.d + "=" * (-len(settings.d) % 4))
    return ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())


def read_challenge(sock):
    """The challenge, without its "\\n". It may arrive in several pieces: read until the "\\n",
    within TIMEOUT_S in all; bytes after it (if any) are not part of the challenge."""
    deadline = time.monotonic() + TIMEOUT_S
    received = b""
    while b"\n" not in received:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        piece = sock.recv(4096)
        if not piece:
            raise ConnectionError(f"the server closed the connection after {len(received)} bytes of challenge")
        received += piece
    challenge, _, _ = received.partition(b"\n")
    return challenge
