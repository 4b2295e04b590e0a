"""python-questdb-legacy: the official client's 1.x API, questdb 1.2.0, as older documentation shows it.

    Sender(host, port, auth=(kid, d, x, y))

The library does the whole handshake in connect(): it sends the key id, reads the challenge (waiting
at most read_timeout), signs it and sends the signature as 64-byte raw r||s (fixed-width, so always
64 bytes) in standard base64. The server never answers. auth is the JWK's key id, d, x and y, as
unpadded base64url strings: all four are required, and the library checks that x and y belong to d.
Current versions take a configuration string instead (questdb_client.py).

Rows are built through the API from the fixture's structured fields (not its "ilp" text).

Environment (interop/CLIENTS.md): ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS, ILP_TIMEOUT_S.
Lines only the harness needs are marked `# harness:`.
"""

import math

from example_env import run, watchdog
from questdb.ingress import Sender, TimestampMicros, TimestampNanos

NANOS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000}


def column_value(column):
    """A fixture column ({"type": ..., "value": ...}) as the Python value the 1.x API expects."""
    kind, value = column["type"], column["value"]
    if kind == "integer":
        return int(value)  # sent as a 64-bit integer (suffix i)
    if kind == "float":
        return float(value)  # float() also reads the fixture's "NaN", "Infinity", "-Infinity"
    if kind == "string":
        return str(value)  # a str column is a STRING; a str in `symbols` is a SYMBOL
    if kind == "boolean":
        return bool(value)
    if kind == "timestamp":
        # 1.x takes timestamp columns only as TimestampMicros (or datetime): a TimestampNanos column
        # is a TypeError, so a nanosecond value loses its last three digits.
        nanos = value * NANOS_PER_UNIT[column["unit"]]
        if nanos % 1000:  # harness: the fixture is checked exactly: refuse rather than send another instant
            raise ValueError(f"a nanosecond timestamp column ({value}) cannot be sent exactly")
        return TimestampMicros(nanos // 1000)  # suffix t
    raise ValueError(f"unknown column type {kind!r}")


def designated_timestamp(row):
    if row["timestamp"] is None:
        return None  # 1.x: at=None leaves the timestamp off the line, the server assigns it
    return TimestampNanos(row["timestamp"]["value"] * NANOS_PER_UNIT[row["timestamp"]["unit"]])


def send_once(settings):
    sender = Sender(
        settings.host,
        settings.port,
        auth=(settings.kid, settings.d, settings.x, settings.y),
        # How long to wait for the challenge, in milliseconds (default 15000). It is the library's
        # only timeout: it does not bound the connect, the writes or the close.
        read_timeout=math.ceil(settings.timeout_s * 1000),
        auto_flush=False,  # send when we call flush(), not on a byte threshold
    )
    # Connect and authenticate: this returns once the signature is sent (the server says nothing).
    # harness: the library has no connect timeout, so a watchdog bounds the connect, while read_timeout
    # bounds the wait for the challenge. Two waits of ILP_TIMEOUT_S each: the watchdog allows both, so
    # that it never fires during the read, whose wait the library would start over (measured: 10 s
    # instead of 5 against a server that never sends the challenge, once in 12 runs).
    with watchdog("connecting and authenticating", 2 * settings.timeout_s):
        sender.connect()
    for row in settings.rows:
        columns = {name: column_value(column) for name, column in row["columns"].items()}
        sender.row(row["table"], symbols=row["symbols"], columns=columns, at=designated_timestamp(row))
    with watchdog("flushing the rows", settings.timeout_s):  # harness: the library has no write timeout
        sender.flush()
    with watchdog("closing", settings.timeout_s):  # harness: the library does not bound its close
        sender.close()


if __name__ == "__main__":
    # 1.x sends protocol version 1 only (the text protocol); no TLS (the stub speaks plain TCP).
    run("python-questdb-legacy", send_once, protocol_versions=(1,), tls=False)
