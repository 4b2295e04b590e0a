//! `raw_p1363` authenticates to QuestDB's ILP/TCP port by hand, with the pure-Rust `p256`
//! crate, and sends the signature in raw form: r || s, each scalar exactly 32 bytes (IEEE
//! P1363, 64 bytes), in standard base64. Then it sends the fixture's rows as ILP text.
//!
//! The handshake, as the server sees it:
//!
//! ```text
//! client: <key id>\n
//! server: <512 random printable bytes>\n          (the challenge)
//! client: <base64 of the signature of those 512 bytes>\n
//! client: <rows...>                               (the server never answers)
//! ```
//!
//! All of it is in this file, top to bottom: the key, the connection, the key id, the loop that
//! reads the challenge, the signature, the rows. The `example` crate only reads the
//! environment, the key file's text and the rows fixture, and runs the connections one after
//! another.
//!
//! Example id: rust-raw-p1363. Input and behaviour: interop/CLIENTS.md.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use example::{Env, Supports};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

fn main() {
    // The environment of interop/CLIENTS.md (ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS,
    // ILP_CONNECTIONS, ILP_TIMEOUT_S, ...), read and checked once. This example sends the
    // fixture's ILP text, protocol version 1, over plain TCP; asked for another version or for
    // TLS, it refuses before connecting.
    let env = Env::load("rust-raw-p1363", Supports { protocol_versions: &[1], tls: false });

    // 1. The private key, from the JWK's d: a 32-byte big-endian number in UNPADDED base64url
    // (alphabet "-" and "_", no "=", as JWKs are written). SigningKey::from_slice checks that it
    // is a valid P-256 scalar (not zero, below the curve order). The JWK's x and y are not
    // needed: the server knows the public key from its own auth file.
    let d = URL_SAFE_NO_PAD
        .decode(&env.jwk.d)
        .unwrap_or_else(|error| env.fail(&format!("ILP_KEY: d is not unpadded base64url: {error}")));
    let key = SigningKey::from_slice(&d).unwrap_or_else(|error| env.fail(&format!("ILP_KEY: d: {error}")));

    env.run(|| send_once(&env, &key));
}

/// One connection: handshake, rows, close. Every wait is bounded by `env.timeout`
/// (ILP_TIMEOUT_S): a server that stops answering must not hang the client.
fn send_once(env: &Env, key: &SigningKey) -> example::Result<()> {
    // 2. Connect, bounded. connect_timeout takes one resolved address: try each that the host
    // name resolves to (for "localhost": ::1 and 127.0.0.1).
    let addresses = (env.host.as_str(), env.port)
        .to_socket_addrs()
        .map_err(|error| format!("connecting: resolving {}: {error}", env.host))?;
    let mut last_error = format!("connecting: {} resolves to no address", env.host);
    let mut connected = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, env.timeout) {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(error) => last_error = env.io_error("connecting", error),
        }
    }
    let mut stream = connected.ok_or(last_error)?;

    // Every write from here on gives up after ILP_TIMEOUT_S.
    stream.set_write_timeout(Some(env.timeout)).map_err(|error| env.io_error("connecting", error))?;

    // 3. The key id (the JWK's kid), ended by '\n'.
    stream
        .write_all(format!("{}\n", env.jwk.kid).as_bytes())
        .map_err(|error| env.io_error("sending the key id", error))?;

    // 4. The challenge: 512 printable bytes, then '\n'. TCP is a byte stream, not a sequence of
    // messages: the 513 bytes may arrive in several pieces, and one read returns only what has
    // arrived so far. So keep reading until the '\n' shows up. A socket's read timeout bounds
    // ONE read, so the time left until one deadline is set before each read: a server that
    // trickles a byte at a time still cannot hold the client past ILP_TIMEOUT_S. A read of 0
    // bytes means the server closed the connection.
    let deadline = Instant::now() + env.timeout;
    let mut received = Vec::new();
    let mut piece = [0u8; 1024];
    let end = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("reading the challenge: {}", env.timed_out()));
        }
        stream.set_read_timeout(Some(left)).map_err(|error| env.io_error("reading the challenge", error))?;
        let n = match stream.read(&mut piece) {
            Ok(0) => {
                return Err(format!(
                    "reading the challenge: the server closed the connection after {} bytes, before the '\\n'",
                    received.len()
                ));
            }
            Ok(n) => n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(env.io_error("reading the challenge", error)),
        };
        received.extend_from_slice(&piece[..n]);
        if let Some(end) = received.iter().position(|&b| b == b'\n') {
            break end; // the whole line is here
        }
        if received.len() > 4096 {
            return Err(format!("reading the challenge: no '\\n' in the first {} bytes", received.len()));
        }
    };
    // The challenge is what came before the '\n'. QuestDB sends nothing after it: it now waits
    // for the signature.
    let challenge = &received[..end];

    // 5. Sign the 512 challenge bytes (without the '\n'). Signer::sign hashes them with SHA-256
    // (P-256's digest) and draws the nonce deterministically (RFC 6979), so the same challenge
    // always gets the same signature; every challenge is new, so every signature is too.
    let signature: Signature = key.sign(challenge);

    // 6. The raw signature is r || s with EACH scalar exactly 32 bytes, big-endian. r and s are
    // just numbers below the curve order; about one in 256 starts with a zero byte, so about one
    // signature in 128 has a scalar that is 31 bytes or fewer in minimal form. Code that writes
    // the minimal big-endian bytes of a big integer (num-bigint's to_bytes_be, or trimming
    // leading zeros) then sends 63 bytes; the server picks the format by the decoded length
    // alone (64 bytes = raw r || s, anything else = DER), parses 63 bytes as DER, fails, and
    // closes the connection, one handshake in 128. split_bytes gives each scalar as a fixed
    // 32-byte field element, already left-padded with zeros, so the signature is always 64 bytes
    // (Signature::to_bytes returns the same 64 bytes in one array).
    let (r, s) = signature.split_bytes();
    let mut raw = [0u8; 64];
    raw[..32].copy_from_slice(&r);
    raw[32..].copy_from_slice(&s);

    // 7. STANDARD base64 ('+' and '/', padded with '='), then '\n'. The server decodes the
    // standard alphabet only and rejects the URL-safe one ('-' and '_'), although the JWK's d
    // was written in it: decode the key with URL_SAFE_NO_PAD, encode the signature with STANDARD.
    let line = format!("{}\n", STANDARD.encode(raw));
    stream.write_all(line.as_bytes()).map_err(|error| env.io_error("sending the signature", error))?;

    // 8. The rows, the fixture's ILP text, one line each. The server says NOTHING on success (and
    // just closes the connection on failure), so there is no answer to wait for: send the rows
    // right behind the signature. The client cannot tell from here whether it was accepted; a
    // rejected client usually writes into a closed socket without noticing.
    let mut rows = String::new();
    for row in &env.rows {
        rows.push_str(row.ilp.as_deref().unwrap_or_default()); // every row has its text: Env::load checked
        rows.push('\n');
    }
    stream.write_all(rows.as_bytes()).map_err(|error| env.io_error("sending the rows", error))?;

    // 9. Close. Dropping the stream closes the socket without waiting (no SO_LINGER is set): the
    // kernel sends what is still buffered on its own.
    drop(stream);
    Ok(())
}
