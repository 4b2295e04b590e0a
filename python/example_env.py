"""The harness plumbing shared by the four Python examples (contract: interop/CLIENTS.md).

Reading and checking the ILP_* variables, loading the JWK file and the rows fixture, the connection
loop, the one-line error and exit, and the watchdog that the official-client examples put around the
calls their library does not bound. Nothing of the handshake lives here: each example does its own.
"""

import json
import os
import re
import signal
import sys
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_TIMEOUT_S = 10.0  # ILP_TIMEOUT_S when unset or empty

_example_id = "?"
_connection = 0  # the connection being made, for the watchdog's message
_reporting = threading.Lock()  # taken by the one caller of fail() that prints and exits


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    kid: str  # the JWK's key id, sent first
    d: str  # the JWK's private scalar, unpadded base64url, as in the file
    x: str  # the JWK's public point, unpadded base64url, as in the file
    y: str
    rows: list  # the fixture's rows (dicts), in file order
    connections: int
    timeout_s: float  # the bound of every wait: connect, the challenge, each write or flush, closing
    protocol_version: int
    tls_ca: str | None  # path of a PEM file of CA certificates, or None: plain TCP


class BadSettings(Exception):
    """A problem with the environment, the key file or the rows file."""


def fail(message):
    """Print ONE line on stderr, '<example id>: <message>', and exit 1."""
    _reporting.acquire()  # if the watchdog's thread and SIGALRM both fire, the second waits here for the exit
    sys.stderr.write(f"{_example_id}: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    os._exit(1)  # also from the watchdog's thread, and without waiting for a library's threads


def run(example_id, send_once, *, protocol_versions, tls):
    """Read and check the environment, refuse what the example cannot do (protocol_versions: the
    ILP_PROTOCOL_VERSION values it can send; tls: whether it can use ILP_TLS_CA), then call
    send_once(settings) ILP_CONNECTIONS times, one after another.

    The first exception ends the process with ONE line: '<id>: connection N: <what failed>'.
    """
    global _example_id, _connection
    _example_id = example_id
    try:
        settings = _read_settings()
    except BadSettings as exc:
        fail(exc)
    if settings.protocol_version not in protocol_versions:
        versions = " or ".join(str(v) for v in protocol_versions)
        fail(f"ILP_PROTOCOL_VERSION={settings.protocol_version}: this example sends protocol version {versions} only")
    if settings.tls_ca is not None and not tls:
        fail("ILP_TLS_CA is set, but this example speaks plain TCP only")
    for number in range(1, settings.connections + 1):
        _connection = number
        try:
            send_once(settings)
        except Exception as exc:  # noqa: BLE001 (whatever it is: ONE line, says interop/CLIENTS.md)
            fail(f"connection {number}: {_what_failed(exc, send_once.__code__.co_filename, settings.timeout_s)}")


def _what_failed(exc, example_file, timeout_s):
    """The example's own message when its own `raise` made the exception ("reading the challenge: timed
    out after 4 s"); otherwise the example's statement that failed, from the traceback, and the error."""
    statements = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == example_file]
    if not statements:
        return describe(exc, timeout_s)
    statement = statements[-1]
    if statement.line.startswith("raise "):
        return str(exc)
    text = statement.line + (" ..." if statement.end_lineno != statement.lineno else "")  # its first line only
    return f"{os.path.basename(example_file)} line {statement.lineno}, {text}: {describe(exc, timeout_s)}"


def describe(exc, timeout_s):
    """An exception as a short phrase: 'timed out after 10 s', 'Connection refused', the library's text."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout_s:g} s"
    return _reason(exc)


def _reason(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


@contextmanager
def watchdog(what, seconds):
    """End the process with '<id>: connection N: <what>: timed out after N s' if the block runs longer
    than `seconds`. For the official clients, which do not bound every wait themselves (no connect
    timeout, no write timeout, SO_LINGER on close). A timer thread covers the calls that release the
    GIL while they wait; SIGALRM covers the others (questdb 1.x connects holding the GIL): it
    interrupts the blocked system call, and the handler runs as soon as the call returns.
    """

    def expire(*_ignored):
        fail(f"connection {_connection}: {what}: timed out after {seconds:g} s")

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        timer.cancel()


def _read_settings():
    host = _required("ILP_HOST")
    port = _positive_integer("ILP_PORT", _required("ILP_PORT"))
    if port > 65535:
        raise BadSettings(f"ILP_PORT must be at most 65535, got {port}")
    jwk = _load_jwk(_required("ILP_KEY"))
    rows = _load_rows(_required("ILP_ROWS"))
    connections = _positive_integer("ILP_CONNECTIONS", _optional("ILP_CONNECTIONS", "1"))
    timeout_s = _positive_number("ILP_TIMEOUT_S", _optional("ILP_TIMEOUT_S", f"{DEFAULT_TIMEOUT_S:g}"))
    protocol_version = _optional("ILP_PROTOCOL_VERSION", "1")
    if protocol_version not in ("1", "2", "3"):
        raise BadSettings(f'ILP_PROTOCOL_VERSION must be 1, 2 or 3, got "{protocol_version}"')
    textless = next((row["id"] for row in rows if row["ilp"] is None), None)
    if protocol_version == "1" and textless is not None:
        raise BadSettings(f"ILP_ROWS row {textless} has no text form (its ilp is null): "
                          "protocol version 1 cannot send it; ILP_PROTOCOL_VERSION must be 2 or 3")
    tls_ca = _optional("ILP_TLS_CA", None)
    if tls_ca is not None:
        try:
            with open(tls_ca, "rb") as file:
                file.read()
        except OSError as exc:
            raise BadSettings(f"ILP_TLS_CA {tls_ca}: {_reason(exc)}") from exc
    return Settings(host, port, jwk["kid"], jwk["d"], jwk["x"], jwk["y"], rows, connections, timeout_s,
                    int(protocol_version), tls_ca)


def _required(name):
    value = os.environ.get(name, "")
    if value == "":
        raise BadSettings(f"{name} is not set")
    return value


def _optional(name, default):
    """An optional variable: unset or empty means the default."""
    return os.environ.get(name) or default


def _positive_integer(name, text):
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise BadSettings(f'{name} must be a positive integer, got "{text}"')
    return int(text)


def _positive_number(name, text):
    if not re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", text) or float(text) <= 0:
        raise BadSettings(f'{name} must be a positive number of seconds, got "{text}"')
    return float(text)


def _load_jwk(path):
    """The key file: {"kty":"EC","crv":"P-256","kid":..,"d":..,"x":..,"y":..}, coordinates unpadded base64url."""
    try:
        with open(path, encoding="utf-8") as file:
            jwk = json.load(file)
    except (OSError, ValueError) as exc:
        raise BadSettings(f"ILP_KEY {path}: {_reason(exc)}") from exc
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise BadSettings(f'ILP_KEY {path}: not a P-256 key (kty must be "EC", crv "P-256")')
    for member in ("kid", "d", "x", "y"):
        if not isinstance(jwk.get(member), str) or jwk[member] == "":
            raise BadSettings(f'ILP_KEY {path}: "{member}" is missing')
    return jwk


def _load_rows(path):
    """The rows fixture: JSON lines, each with id, table, symbols, columns, timestamp and ilp (its text
    form, or null where ILP has none: an array)."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().split("\n")
    except (OSError, ValueError) as exc:
        raise BadSettings(f"ILP_ROWS {path}: {_reason(exc)}") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if line.strip() == "":
            continue
        where = f"ILP_ROWS {path}:{number}"
        try:
            row = json.loads(line)  # Python's ints are exact: 1700000000123456789 stays as it is
        except ValueError as exc:
            raise BadSettings(f"{where}: {exc}") from exc
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("id", "table")):
            raise BadSettings(f'{where}: "id" or "table" is missing')
        if not (isinstance(row.get("ilp"), str) or row.get("ilp", "") is None):  # null: no text form (an array)
            raise BadSettings(f'{where}: "ilp" is missing (a string, or null for a row with no text form)')
        if not isinstance(row.get("symbols"), dict) or not isinstance(row.get("columns"), dict):
            raise BadSettings(f'{where}: "symbols" or "columns" is missing or malformed')
        if not (row.get("timestamp") is None or isinstance(row["timestamp"], dict)):
            raise BadSettings(f'{where}: "timestamp" is malformed')
        rows.append(row)
    return rows
