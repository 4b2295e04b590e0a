"""python-questdb: the official client, questdb 6.0.0, authenticating over ILP/TCP.

The library does the whole handshake when the sender is established: it sends the key id, reads
the challenge (waiting at most auth_timeout), signs it and sends the signature as 64-byte raw r||s
(fixed-width, so always 64 bytes) in standard base64. The server never answers: a rejected sender
only learns it on a later write, if at all. All four key values go in the configuration string; the
library checks that x and y belong to d.

Rows are built through the API from the fixture's structured fields (not its "ilp" text).

Protocol versions (ILP_PROTOCOL_VERSION): 1 sends every value as text; 2 sends floats in binary and
adds DOUBLE arrays (numpy float64 arrays); 3 adds DECIMAL values (decimal.Decimal), in binary too.

Environment (interop/CLIENTS.md): ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS, ILP_TIMEOUT_S,
ILP_PROTOCOL_VERSION.
Lines only the harness needs are marked `# harness:`.
"""

import math
from decimal import Decimal

import numpy as np
import questdb
from example_env import run, watchdog

# questdb 6 still serves `from questdb.ingress import Sender` (the 4.x and 5.x docs), but that module
# is deprecated and warns; the same classes are imported from `questdb` itself.
from questdb import Sender, ServerTimestamp, TimestampMicros, TimestampNanos

# The harness connects ILP_CONNECTIONS times in a row on purpose (each connection is one more handshake
# to check); a program of yours would want the library's warning about "a burst of reconnections".
questdb.WARN_HIGH_RECONNECTS = False  # harness: reconnecting is the point here, not a bug to warn about

NANOS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000}


def column_value(column):
    """A fixture column ({"type": ..., "value": ...}) as the Python value the API expects."""
    kind, value = column["type"], column["value"]
    if kind == "integer":
        return int(value)  # sent as a 64-bit integer (suffix i)
    if kind == "float":
        return float(value)  # float() also reads the fixture's "NaN", "Infinity", "-Infinity"; binary from version 2
    if kind == "array":
        # A DOUBLE array (protocol 2 and later) is a numpy float64 ndarray: its shape is the column's
        # shape, and it is always sent in binary. dtype=float64 also reads "NaN" and "Infinity"; the
        # reshape keeps an empty array's shape, which a nested list of no values does not carry.
        return np.array(value, dtype=np.float64).reshape(column["shape"])
    if kind == "decimal":
        # A DECIMAL (protocol 3) is a decimal.Decimal, sent in binary as its scale and unscaled value.
        # Built from the text, which is exact at any length and keeps the trailing zeros, so the scale
        # sent is the fixture's ("-123.4500" has scale 4). The column must exist: QuestDB does not
        # create DECIMAL columns from ILP (interop/schema.toml declares them).
        return Decimal(value)
    if kind == "string":
        return str(value)  # a str column is a STRING; a str in `symbols` is a SYMBOL
    if kind == "boolean":
        return bool(value)
    if kind == "timestamp":
        nanos = value * NANOS_PER_UNIT[column["unit"]]
        if column["unit"] == "ns":
            # Protocol version 1 carries timestamp columns in microseconds: the library would drop
            # the last three digits of a TimestampNanos column.
            if nanos % 1000:  # harness: the fixture is checked exactly: refuse rather than send another instant
                raise ValueError(f"a nanosecond timestamp column ({value}) cannot be sent exactly")
            return TimestampNanos(nanos)
        return TimestampMicros(nanos // 1000)  # "us" (and "ms", scaled): suffix t
    raise ValueError(f"unknown column type {kind!r}")


def designated_timestamp(row):
    if row["timestamp"] is None:
        return ServerTimestamp  # no timestamp on the line: the server assigns it
    return TimestampNanos(row["timestamp"]["value"] * NANOS_PER_UNIT[row["timestamp"]["unit"]])


def send_once(settings):
    # tcps:: is TLS (QuestDB Enterprise, or the stub's --tls). tls_roots names the PEM file of the CA to
    # trust instead of the system's. Never tls_verify=unsafe_off: a client that trusts any certificate
    # sends its key id and signature to whoever answers.
    if settings.tls_ca:
        address = f"tcps::addr={settings.host}:{settings.port};tls_roots={settings.tls_ca.replace(';', ';;')};"
    else:
        address = f"tcp::addr={settings.host}:{settings.port};"
    conf = address + (
        # ECDSA authentication: the key id and the JWK's d, x and y, base64url as in the file. A ';'
        # inside a value is written ';;'.
        f"username={settings.kid.replace(';', ';;')};"
        f"token={settings.d};token_x={settings.x};token_y={settings.y};"
        # How long to wait for the challenge, in milliseconds (default 15000). Over TCP it is the
        # library's only timeout: it does not bound the connect, the writes or the close.
        f"auth_timeout={math.ceil(settings.timeout_s * 1000)};"
        # The protocol version (ILP_PROTOCOL_VERSION). Over TCP the library cannot ask the server, so
        # name it: 1 (the default over TCP) is text only; 2 sends floats in binary and allows arrays;
        # 3 also allows decimals. A value the version cannot carry fails in row() before anything is sent.
        f"protocol_version={settings.protocol_version};"
        # Send when we call flush(), not on a byte threshold or a timer.
        "auto_flush=off;"
    )
    sender = Sender.from_conf(conf)
    # Connect and authenticate: this returns once the signature is sent (the server says nothing).
    with watchdog("connecting and authenticating", settings.timeout_s):  # harness: the library has no connect timeout
        sender.establish()
    for row in settings.rows:
        columns = {name: column_value(column) for name, column in row["columns"].items()}
        sender.row(row["table"], symbols=row["symbols"], columns=columns, at=designated_timestamp(row))
    with watchdog("flushing the rows", settings.timeout_s):  # harness: the library has no write timeout
        sender.flush()
    with watchdog("closing", settings.timeout_s):  # harness: SO_LINGER: close may wait for unsent data
        sender.close()


if __name__ == "__main__":
    run("python-questdb", send_once, protocol_versions=(1, 2, 3), tls=True)
