//! `questdb_client` sends the fixture's rows with QuestDB's official Rust client, the
//! `questdb-rs` crate (7.2.1, pinned in Cargo.toml and Cargo.lock, ILP/TCP features only),
//! authenticating over ILP/TCP with the client's key given in a config string. The library does
//! the whole handshake inside `Sender::from_conf` and signs the challenge with ring's
//! `ECDSA_P256_SHA256_FIXED_SIGNING`: the fixed-width raw form, r || s in exactly 64 bytes
//! (P1363), in standard base64. Every row is built through the library's API, from the
//! fixture's typed fields (not from its ilp text).
//!
//! What to know about this library over TCP (7.2.1, `src/ingress/sender/tcp.rs`):
//! - Its waits are not all bounded. `auth_timeout` (milliseconds, 15 s by default) is the
//!   socket's read timeout while it reads the challenge (and runs a TLS handshake); but the TCP
//!   connect has no timeout, the writes of `flush` have none, and closing the socket waits for
//!   the unsent bytes up to its SO_LINGER of 120 s. Each of these calls runs under a watchdog
//!   here, `env.bounded`, which ends the program after ILP_TIMEOUT_S.
//! - A rejected handshake is not reported: the server closes the connection without a word,
//!   `from_conf` returns a working-looking sender, and `flush` usually succeeds too (the rows
//!   only reach the local socket buffer). Only the server knows; here, the stub's events.
//! - It reads the challenge through a `BufReader` up to the '\n' and signs exactly the bytes
//!   before it: bytes that arrive after the '\n' are dropped with the reader, not signed.
//!
//! Example id: rust-questdb. Input and behaviour: interop/CLIENTS.md.

use example::{Array, Env, Row, Supports, Time, Unit, Value};
use questdb::ingress::{Buffer, DecimalView, NdArrayView, Sender, TimestampMicros, TimestampNanos};

fn main() {
    // The environment of interop/CLIENTS.md (ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS,
    // ILP_CONNECTIONS, ILP_TIMEOUT_S, ...), read and checked once. questdb-rs sends protocol
    // versions 1, 2 and 3, and speaks TLS (`tcps::`) trusting the CAs of a PEM file.
    let env = Env::load("rust-questdb", Supports { protocol_versions: &[1, 2, 3], tls: true });
    env.run(|| send_once(&env));
}

/// One connection: one sender, all the rows in one buffer, flush, close.
fn send_once(env: &Env) -> example::Result<()> {
    // The config string. `username` is the key id, `token` is d, `token_x` and `token_y` the
    // public point, all three base64url as in the JWK (questdb-rs checks that the pair matches).
    // A ';' inside a value is written ';;'. protocol_version 1 sends every value as text; 2 sends
    // floats in binary and adds DOUBLE arrays; 3 adds DECIMAL values. TCP cannot negotiate: the
    // version is the one named here (over TCP, leaving it unset means 1).
    let timeout_ms = env.timeout.as_millis().max(1);
    let mut conf = format!(
        "{scheme}::addr={host}:{port};username={kid};token={d};token_x={x};token_y={y};\
         auth_timeout={timeout_ms};protocol_version={version};",
        scheme = if env.tls_ca.is_some() { "tcps" } else { "tcp" },
        host = escape(&env.host),
        port = env.port,
        kid = escape(&env.jwk.kid),
        d = escape(&env.jwk.d),
        x = escape(&env.jwk.x),
        y = escape(&env.jwk.y),
        version = env.protocol_version,
    );
    if let Some(ca) = &env.tls_ca {
        // TLS: trust exactly the CAs of this PEM file (`tls_roots` sets `tls_ca=pem_file`).
        // Verification stays on: turning it off (`tls_verify=unsafe_off`) needs a feature that
        // is not enabled, so it cannot even be asked for.
        conf.push_str(&format!("tls_roots={};", escape(&ca.to_string_lossy())));
    }

    // Connect and authenticate. harness: the connect has no timeout of its own, so the whole
    // call runs under a watchdog; auth_timeout bounds the read of the challenge itself.
    let mut sender = env
        .bounded("connecting and authenticating", || Sender::from_conf(&conf))
        .map_err(|error| format!("connecting and authenticating: {}", env.describe(&error.to_string())))?;

    // The rows, all in one buffer; the buffer knows the sender's protocol version.
    let mut buffer = sender.new_buffer();
    for row in &env.rows {
        add_row(&mut buffer, row).map_err(|error| format!("row {}: {error}", row.id))?;
    }
    // harness: the writes have no timeout of their own: a watchdog bounds the flush.
    env.bounded("flushing", || sender.flush(&mut buffer))
        .map_err(|error| format!("flushing: {}", env.describe(&error.to_string())))?;

    // Close: dropping the sender shuts the socket down and closes it. harness: the close waits
    // for unsent bytes up to SO_LINGER (120 s): a watchdog bounds it.
    env.bounded("closing", || drop(sender));
    Ok(())
}

/// Buffers one fixture row: the table, then the symbols (they must come before any column),
/// then the columns by type, then `at`, which ends the row. Each call checks its input (an
/// illegal name, a value the protocol version cannot carry) and returns the error.
fn add_row(buffer: &mut Buffer, row: &Row) -> questdb::Result<()> {
    buffer.table(row.table.as_str())?;
    for (name, value) in &row.symbols {
        buffer.symbol(name.as_str(), value.as_str())?;
    }
    for column in &row.columns {
        let name = column.name.as_str();
        match &column.value {
            Value::Integer(value) => buffer.column_i64(name, *value)?,
            // NaN, Infinity and -Infinity are fine: protocol 1 writes them as the words NaN,
            // Infinity and -Infinity, 2 and 3 write every float as 8 binary bytes.
            Value::Float(value) => buffer.column_f64(name, *value)?,
            Value::String(value) => buffer.column_str(name, value.as_str())?,
            Value::Boolean(value) => buffer.column_bool(name, *value)?,
            // A timestamp column in microseconds ("...t") or nanoseconds; at protocol 1 the
            // library converts nanoseconds to microseconds (the fixture's columns are in us).
            Value::Timestamp(time) => match time.unit {
                Unit::Nanos => buffer.column_ts(name, TimestampNanos::new(time.value))?,
                _ => buffer.column_ts(name, micros(time))?,
            },
            // A DOUBLE array (protocol 2 and later), always binary. column_arr takes anything
            // that implements NdArrayView (Vec<f64>, nested Vecs, ndarray's views): the fixture's
            // shape and flat values through FixtureArray below. At protocol 1 it returns an error.
            Value::Array(array) => buffer.column_arr(name, &FixtureArray(array))?,
            // A DECIMAL (protocol 3), sent in binary: the scale and the unscaled value in
            // big-endian two's complement (a &str would be sent as text, "-123.4500d"). The
            // column must exist: QuestDB does not create DECIMAL columns from ILP.
            Value::Decimal(decimal) => {
                let value = DecimalView::try_new_scaled(decimal.scale, decimal.twos_complement())?;
                buffer.column_dec(name, value)?
            }
        };
    }
    // The designated timestamp; none: the server assigns one.
    match &row.timestamp {
        None => buffer.at_now(),
        Some(time) if time.unit == Unit::Nanos => buffer.at(TimestampNanos::new(time.value)),
        Some(time) => buffer.at(micros(time)),
    }
}

/// A time of the fixture in microseconds or milliseconds, as the library's microseconds.
fn micros(time: &Time) -> TimestampMicros {
    match time.unit {
        Unit::Millis => TimestampMicros::new(time.value * 1000),
        _ => TimestampMicros::new(time.value),
    }
}

/// A fixture array seen through questdb-rs's array trait: its shape, and its values already flat
/// in row-major order (C layout), which `as_slice` hands over to be copied as they are.
struct FixtureArray<'a>(&'a Array);

impl NdArrayView<f64> for FixtureArray<'_> {
    type Iter<'b>
        = std::slice::Iter<'b, f64>
    where
        Self: 'b;

    fn ndim(&self) -> usize {
        self.0.shape.len()
    }

    fn dim(&self, index: usize) -> questdb::Result<usize> {
        self.0
            .shape
            .get(index)
            .copied()
            .ok_or_else(|| questdb::Error::new(questdb::ErrorCode::ArrayError, format!("no dimension {index}")))
    }

    fn as_slice(&self) -> Option<&[f64]> {
        Some(&self.0.values)
    }

    fn iter(&self) -> Self::Iter<'_> {
        self.0.values.iter()
    }
}

/// Doubles ';', the config string's separator, inside a value.
fn escape(value: &str) -> String {
    value.replace(';', ";;")
}
