//! The client's key file: a JSON Web Key of an ECDSA P-256 key.
//!
//! ```text
//! {"kty": "EC", "crv": "P-256", "kid": "testUser1", "d": "5UjE...", "x": "fLKY...", "y": "Dt5t..."}
//! ```
//!
//! `d`, `x` and `y` are unpadded base64url (alphabet `-` and `_`), 32 bytes each once decoded.
//! They are kept as text: the raw examples decode `d` themselves (that is part of their lesson),
//! and QuestDB's config strings take the text as it is (`token`, `token_x`, `token_y`).

use serde_json::Value;

/// The text of a JWK file.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwk {
    /// the key id: the client's first line, and the server's name for the key
    pub kid: String,
    /// the private scalar
    pub d: String,
    /// the public point; the server knows it from its own auth file
    pub x: String,
    pub y: String,
}

impl Jwk {
    /// Reads a JWK file and checks its shape: an EC key on P-256 with a kid, d, x and y. It does
    /// not decode them.
    pub fn load(path: &str) -> Result<Jwk, String> {
        let text = std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))?;
        let json: Value = serde_json::from_str(&text).map_err(|error| format!("{path}: not a JWK: {error}"))?;
        let member = |name: &str| json.get(name).and_then(Value::as_str).unwrap_or("").to_string();
        if member("kty") != "EC" || member("crv") != "P-256" {
            return Err(format!(
                "{path}: not a P-256 key (kty must be \"EC\", crv \"P-256\"), got {:?} and {:?}",
                member("kty"),
                member("crv")
            ));
        }
        for name in ["kid", "d", "x", "y"] {
            if member(name).is_empty() {
                return Err(format!("{path}: {name:?} is missing"));
            }
        }
        Ok(Jwk { kid: member("kid"), d: member("d"), x: member("x"), y: member("y") })
    }
}
