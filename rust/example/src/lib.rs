//! The boring part every Rust example of the gallery shares, so that each example's `main.rs`
//! shows only its lesson (the handshake, or the official client's API):
//!
//! - the environment of `interop/CLIENTS.md`, read and checked once, before any connection:
//!   `ILP_HOST`, `ILP_PORT`, `ILP_KEY`, `ILP_ROWS`, `ILP_CONNECTIONS`, `ILP_TIMEOUT_S`,
//!   `ILP_PROTOCOL_VERSION` and `ILP_TLS_CA`, and the refusal of a protocol version or of TLS
//!   that an example does not support;
//! - the JWK key file, as text ([`key`]);
//! - the rows fixture, read with serde_json ([`rows`]);
//! - the connection loop, the one-line error on stderr, the wording of a timeout, and a
//!   watchdog for the waits a library does not bound itself.
//!
//! The handshake is deliberately NOT here, not even the decoding of the key's `d` or the loop
//! that reads the challenge: each raw example spells it out.

pub mod key;
pub mod rows;

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;
use std::{env, io, process, thread};

pub use key::Jwk;
pub use rows::{Array, Column, Decimal, Row, Time, Unit, Value};

/// What a step of a connection returns: the error is the text after "connection N: ", e.g.
/// `"reading the challenge: timed out after 10 s"`.
pub type Result<T> = std::result::Result<T, String>;

/// What an example declares it can do. Asked for anything else (another
/// `ILP_PROTOCOL_VERSION`, or TLS through `ILP_TLS_CA`), [`Env::load`] refuses before the first
/// connection and never falls back.
pub struct Supports {
    /// the ILP protocol versions it can send
    pub protocol_versions: &'static [u8],
    /// whether it can connect with TLS, trusting the CAs of `ILP_TLS_CA`
    pub tls: bool,
}

/// Everything an example needs, taken from the environment.
pub struct Env {
    /// the example id (`"rust-raw-der"`), first word of every error line
    pub id: &'static str,
    /// `ILP_HOST`, as given
    pub host: String,
    /// `ILP_PORT`
    pub port: u16,
    /// the text of the JWK file `ILP_KEY`
    pub jwk: Jwk,
    /// the rows of the fixture `ILP_ROWS`, in their order
    pub rows: Vec<Row>,
    /// `ILP_CONNECTIONS`, 1 when unset
    pub connections: u32,
    /// `ILP_TIMEOUT_S`: the bound of every wait, 10 s when unset
    pub timeout: Duration,
    /// `ILP_PROTOCOL_VERSION`, 1 when unset
    pub protocol_version: u8,
    /// `ILP_TLS_CA`, the path of a PEM file of CAs; `None` for plain TCP
    pub tls_ca: Option<PathBuf>,

    timeout_text: String,  // ILP_TIMEOUT_S as given ("4", "2.5"), quoted in "timed out after N s"
    connection: Cell<u32>, // the connection under way, for the watchdog's line
}

impl Env {
    /// Reads and checks the environment, the key file and the rows, and refuses what the
    /// example does not support. On any problem it ends the program with one line on stderr,
    /// before the first connection.
    pub fn load(id: &'static str, supports: Supports) -> Env {
        match load(id).and_then(|env| supports.check(&env).map(|()| env)) {
            Ok(env) => env,
            Err(error) => fail(id, &error),
        }
    }

    /// Calls `connect` for connections 1..=`connections`, one after another. The first error
    /// ends the program: `"ID: connection N: what failed"` on stderr, exit status 1.
    pub fn run(&self, mut connect: impl FnMut() -> Result<()>) {
        for n in 1..=self.connections {
            self.connection.set(n);
            if let Err(error) = connect() {
                fail(self.id, &format!("connection {n}: {error}"));
            }
        }
    }

    /// Ends the program with one line on stderr, `"ID: error"`, and exit status 1.
    pub fn fail(&self, error: &str) -> ! {
        fail(self.id, error)
    }

    /// `"timed out after N s"`, N as `ILP_TIMEOUT_S` was given.
    pub fn timed_out(&self) -> String {
        format!("timed out after {} s", self.timeout_text)
    }

    /// `"step: what went wrong"` for an I/O error of a step. A read or write past its timeout
    /// (Linux reports it as `WouldBlock`, "Resource temporarily unavailable") or a connect
    /// past its timeout (`TimedOut`) reads `"step: timed out after N s"`.
    pub fn io_error(&self, step: &str, error: io::Error) -> String {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!("{step}: {}", self.timed_out()),
            _ => format!("{step}: {error}"),
        }
    }

    /// Rewrites the way an operating system words an expired socket timeout inside a
    /// library's error text ("Resource temporarily unavailable (os error 11)") as the
    /// contract does: "timed out after N s".
    pub fn describe(&self, text: &str) -> String {
        let mut text = text.to_string();
        for words in [
            "Resource temporarily unavailable (os error 11)",
            "Connection timed out (os error 110)",
            "operation would block",
        ] {
            text = text.replace(words, &self.timed_out());
        }
        text
    }

    /// Runs `work`, a wait that its library does not bound, with a watchdog: if it has not
    /// returned after `ILP_TIMEOUT_S`, the program ends with
    /// `"ID: connection N: step: timed out after N s"`, exit status 1. A blocked system call
    /// cannot be interrupted from another thread, but the process can end.
    pub fn bounded<T>(&self, step: &str, work: impl FnOnce() -> T) -> T {
        let (finished, waiting) = mpsc::channel::<()>();
        let line = format!("{}: connection {}: {step}: {}", self.id, self.connection.get(), self.timed_out());
        let timeout = self.timeout;
        let watchdog = thread::spawn(move || {
            if waiting.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
                eprintln!("{line}");
                process::exit(1);
            }
        });
        let result = work();
        drop(finished); // wakes the watchdog (the channel is closed): it returns
        let _ = watchdog.join();
        result
    }
}

impl Supports {
    /// Refuses, with the contract's wording, what the example cannot do.
    fn check(&self, env: &Env) -> Result<()> {
        if !self.protocol_versions.contains(&env.protocol_version) {
            let versions: Vec<String> = self.protocol_versions.iter().map(u8::to_string).collect();
            let plural = if versions.len() > 1 { "s" } else { "" };
            return Err(format!(
                "ILP_PROTOCOL_VERSION={}: this example sends protocol version{plural} {} only",
                env.protocol_version,
                versions.join(", ")
            ));
        }
        if env.tls_ca.is_some() && !self.tls {
            return Err("ILP_TLS_CA is set, but this example speaks plain TCP only".into());
        }
        Ok(())
    }
}

fn load(id: &'static str) -> Result<Env> {
    let host = required("ILP_HOST")?;
    let port_text = required("ILP_PORT")?;
    let port = match port_text.parse::<u16>() {
        Ok(port) if port > 0 && port_text.bytes().all(|b| b.is_ascii_digit()) => port,
        _ => return Err(format!("ILP_PORT must be a port number (1-65535), got {port_text:?}")),
    };
    let key_path = required("ILP_KEY")?;
    let rows_path = required("ILP_ROWS")?;
    let connections = positive_integer("ILP_CONNECTIONS", &optional("ILP_CONNECTIONS", "1"))?;
    let timeout_text = optional("ILP_TIMEOUT_S", "10");
    let timeout = seconds("ILP_TIMEOUT_S", &timeout_text)?;
    let protocol_version = protocol_version("ILP_PROTOCOL_VERSION", &optional("ILP_PROTOCOL_VERSION", "1"))?;
    let tls_ca = match optional("ILP_TLS_CA", "") {
        path if path.is_empty() => None,
        path => {
            std::fs::read(&path).map_err(|error| format!("ILP_TLS_CA: {path}: {error}"))?;
            Some(PathBuf::from(path))
        }
    };
    let jwk = Jwk::load(&key_path).map_err(|error| format!("ILP_KEY: {error}"))?;
    let rows = rows::load(&rows_path).map_err(|error| format!("ILP_ROWS: {error}"))?;
    if protocol_version == 1
        && let Some(row) = rows.iter().find(|row| row.ilp.is_none())
    {
        return Err(format!(
            "ILP_ROWS row {} has no text form (its ilp is null): protocol version 1 cannot send it; \
             ILP_PROTOCOL_VERSION must be 2 or 3",
            row.id
        ));
    }
    Ok(Env {
        id,
        host,
        port,
        jwk,
        rows,
        connections,
        timeout,
        protocol_version,
        tls_ca,
        timeout_text,
        connection: Cell::new(0),
    })
}

fn required(name: &str) -> Result<String> {
    match env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        Err(env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
        _ => Err(format!("{name} is not set (required, see interop/CLIENTS.md)")),
    }
}

/// The variable's value, or `by_default` when it is unset or empty.
fn optional(name: &str, by_default: &str) -> String {
    match env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => by_default.to_string(),
    }
}

fn positive_integer(name: &str, text: &str) -> Result<u32> {
    match text.parse::<u32>() {
        Ok(value) if value >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(value),
        _ => Err(format!("{name} must be a positive integer, got {text:?}")),
    }
}

/// The longest timeout accepted, in seconds (about 31 years), as in the Go helper.
const LONGEST: f64 = 1e9;

/// `ILP_TIMEOUT_S` is written as plain decimal digits with an optional point: `10`, `2.5`, `.5`.
fn seconds(name: &str, text: &str) -> Result<Duration> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    let points = text.bytes().filter(|&b| b == b'.').count();
    let plain = digits >= 1 && points <= 1 && digits + points == text.len();
    let value: f64 = text.parse().unwrap_or(0.0);
    if !plain || value <= 0.0 {
        return Err(format!("{name} must be a positive number of seconds, got {text:?}"));
    }
    if value > LONGEST {
        return Err(format!("{name} must be at most {LONGEST} seconds, got {text:?}"));
    }
    let duration = Duration::from_secs_f64(value);
    if duration.is_zero() {
        return Err(format!("{name} must be at least a nanosecond, got {text:?}"));
    }
    Ok(duration)
}

fn protocol_version(name: &str, text: &str) -> Result<u8> {
    match text {
        "1" => Ok(1),
        "2" => Ok(2),
        "3" => Ok(3),
        _ => Err(format!("{name} must be 1, 2 or 3, got {text:?}")),
    }
}

/// One line on stderr, `"ID: error"` (any line breaks in the error folded into spaces), and
/// exit status 1.
fn fail(id: &str, error: &str) -> ! {
    let words: Vec<&str> = error.split_whitespace().collect();
    eprintln!("{id}: {}", words.join(" "));
    process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_plain_decimals() {
        for (text, millis) in [("10", 10_000), ("4", 4_000), ("2.5", 2_500), (".5", 500), ("1.", 1_000), ("007", 7_000)]
        {
            assert_eq!(seconds("ILP_TIMEOUT_S", text), Ok(Duration::from_millis(millis)), "{text}");
        }
        for text in ["abc", "0", "0.0", "-1", "+1", "1e3", "inf", "NaN", " 1", "1 s", "0x10", "1_0", "2000000000", "."]
        {
            assert!(seconds("ILP_TIMEOUT_S", text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn connections_are_positive_integers() {
        assert_eq!(positive_integer("ILP_CONNECTIONS", "1800"), Ok(1800));
        for text in ["0", "-1", "+1", "x", "1.5", " 1"] {
            assert!(positive_integer("ILP_CONNECTIONS", text).is_err(), "{text} was accepted");
        }
    }

    fn env(protocol_version: u8, tls_ca: Option<&str>) -> Env {
        Env {
            id: "rust-test",
            host: "127.0.0.1".into(),
            port: 9009,
            jwk: Jwk { kid: "k".into(), d: "d".into(), x: "x".into(), y: "y".into() },
            rows: vec![],
            connections: 1,
            timeout: Duration::from_secs(4),
            protocol_version,
            tls_ca: tls_ca.map(PathBuf::from),
            timeout_text: "2.5".into(),
            connection: Cell::new(0),
        }
    }

    #[test]
    fn refusals_use_the_contract_wording() {
        let raw_only = Supports { protocol_versions: &[1], tls: false };
        assert_eq!(raw_only.check(&env(1, None)), Ok(()));
        assert_eq!(
            raw_only.check(&env(2, None)),
            Err("ILP_PROTOCOL_VERSION=2: this example sends protocol version 1 only".into())
        );
        let two = Supports { protocol_versions: &[1, 2], tls: true };
        assert_eq!(
            two.check(&env(3, None)),
            Err("ILP_PROTOCOL_VERSION=3: this example sends protocol versions 1, 2 only".into())
        );
        assert_eq!(
            raw_only.check(&env(1, Some("/etc/hostname"))),
            Err("ILP_TLS_CA is set, but this example speaks plain TCP only".into())
        );
        assert_eq!(two.check(&env(1, Some("/etc/hostname"))), Ok(()));
    }

    #[test]
    fn timeouts_are_worded_as_the_contract_says() {
        let env = env(1, None);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let error = io::Read::read(&mut stream, &mut [0; 8]).unwrap_err(); // what Linux really returns
        assert_eq!(env.io_error("reading the challenge", error), "reading the challenge: timed out after 2.5 s");
        assert_eq!(
            env.describe(
                "Failed to read authentication challenge (timed out?): Resource temporarily unavailable (os error 11)"
            ),
            "Failed to read authentication challenge (timed out?): timed out after 2.5 s"
        );
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(env.io_error("connecting", refused), "connecting: connection refused");
    }
}
