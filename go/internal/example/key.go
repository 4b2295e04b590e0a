package example

import (
	"encoding/json"
	"fmt"
	"os"
)

// JWK is the text of the client's key file, a JSON Web Key of an ECDSA P-256 key:
//
//	{"kty": "EC", "crv": "P-256", "kid": "testUser1", "d": "5UjE...", "x": "fLKY...", "y": "Dt5t..."}
//
// d, x and y are unpadded base64url (alphabet "-" and "_"), 32 bytes each once decoded. They
// are kept as text: the raw examples decode d themselves (that is part of their lesson), and
// QuestDB's config strings take the text as it is (token, token_x, token_y).
type JWK struct {
	Kid  string // the key id: the client's first line, and the server's name for the key
	D    string // the private scalar
	X, Y string // the public point; the server knows it from its own auth file
}

// LoadJWK reads a JWK file and checks its shape: an EC key on P-256 with a kid, d, x and y.
// It does not decode them.
func LoadJWK(path string) (JWK, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return JWK{}, err
	}
	var jwk struct{ Kty, Crv, Kid, D, X, Y string }
	if err := json.Unmarshal(data, &jwk); err != nil {
		return JWK{}, fmt.Errorf("%s: not a JWK: %w", path, err)
	}
	if jwk.Kty != "EC" || jwk.Crv != "P-256" {
		return JWK{}, fmt.Errorf("%s: not a P-256 key (kty must be \"EC\", crv \"P-256\"), got %q and %q", path, jwk.Kty, jwk.Crv)
	}
	for _, member := range []struct{ name, value string }{{"kid", jwk.Kid}, {"d", jwk.D}, {"x", jwk.X}, {"y", jwk.Y}} {
		if member.value == "" {
			return JWK{}, fmt.Errorf("%s: %q is missing", path, member.name)
		}
	}
	return JWK{Kid: jwk.Kid, D: jwk.D, X: jwk.X, Y: jwk.Y}, nil
}
