package example

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Key is the client's ECDSA P-256 key, from a JWK file:
//
//	{"kty": "EC", "crv": "P-256", "kid": "testUser1", "d": "5UjE...", "x": "fLKY...", "y": "Dt5t..."}
//
// d, x and y are unpadded base64url (alphabet "-" and "_"), 32 bytes each once decoded.
type Key struct {
	ID      string            // kid: the key id, the client's first line
	Private *ecdsa.PrivateKey // d, with its public point checked against x and y
	D, X, Y string            // the JWK's text, as QuestDB config strings want it (token, token_x, token_y)
}

// LoadKey reads a JWK file and checks that x and y are the public point of d, so that a
// mismatched file fails here, with a clear message, instead of as a silent rejection.
func LoadKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var jwk struct{ Kty, Crv, Kid, D, X, Y string }
	if err := json.Unmarshal(data, &jwk); err != nil {
		return nil, fmt.Errorf("%s: not a JWK: %w", path, err)
	}
	if jwk.Kty != "EC" || jwk.Crv != "P-256" {
		return nil, fmt.Errorf("%s: want kty EC and crv P-256, got %q and %q", path, jwk.Kty, jwk.Crv)
	}
	if jwk.Kid == "" {
		return nil, fmt.Errorf("%s: no kid (the key id)", path)
	}
	d, err := base64.RawURLEncoding.DecodeString(jwk.D)
	if err != nil {
		return nil, fmt.Errorf("%s: d is not unpadded base64url: %w", path, err)
	}
	x, err := base64.RawURLEncoding.DecodeString(jwk.X)
	if err != nil {
		return nil, fmt.Errorf("%s: x is not unpadded base64url: %w", path, err)
	}
	y, err := base64.RawURLEncoding.DecodeString(jwk.Y)
	if err != nil {
		return nil, fmt.Errorf("%s: y is not unpadded base64url: %w", path, err)
	}
	// d is a 32-byte big-endian integer; ParseRawPrivateKey (Go 1.25) also computes d*G.
	private, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("%s: d: %w", path, err)
	}
	public, err := private.PublicKey.Bytes() // 0x04 || X || Y, 32 bytes each
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !bytes.Equal(public, append(append([]byte{4}, x...), y...)) {
		return nil, errors.New(path + ": x and y are not the public key of d")
	}
	return &Key{ID: jwk.Kid, Private: private, D: jwk.D, X: jwk.X, Y: jwk.Y}, nil
}
