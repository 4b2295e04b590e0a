// Command raw_p1363 authenticates to QuestDB's ILP/TCP port by hand, with crypto/ecdsa, and
// sends the signature in raw form: r || s, each scalar left-padded to exactly 32 bytes
// (IEEE P1363, 64 bytes), in standard base64. Then it sends the fixture's rows as ILP text.
//
// The handshake, as the server sees it:
//
//	client: <key id>\n
//	server: <512 random printable bytes>\n          (the challenge)
//	client: <base64 of the signature of those 512 bytes>\n
//	client: <rows...>                               (the server never answers)
//
// All of it is in this file, top to bottom: the key, the connection, the key id, the loop that
// reads the challenge, the signature, the rows. internal/example only reads the environment,
// the key file's text and the rows fixture, and runs the connections one after another.
//
// Example id: go-raw-p1363. Input and behaviour: interop/CLIENTS.md.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"example.com/ilp-auth-gallery/go/internal/example"
)

func main() {
	// The environment of interop/CLIENTS.md (ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS,
	// ILP_CONNECTIONS, ILP_TIMEOUT_S, ...), read and checked once. This example sends the
	// fixture's ILP text, protocol version 1, over plain TCP; asked for another version or
	// for TLS, it refuses before connecting.
	env := example.Load("go-raw-p1363", example.Supports{ProtocolVersions: []int{1}, TLS: false})

	// 1. The private key, from the JWK's d: a 32-byte big-endian number in UNPADDED base64url
	// (alphabet "-" and "_", no "=", as JWKs are written). ParseRawPrivateKey (Go 1.25) checks
	// that it is a valid P-256 scalar and computes the public point. The JWK's x and y are not
	// needed: the server knows the public key from its own auth file.
	d, err := base64.RawURLEncoding.DecodeString(env.JWK.D)
	if err != nil {
		example.Fail(env.ID, fmt.Errorf("ILP_KEY: d is not unpadded base64url: %w", err))
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		example.Fail(env.ID, fmt.Errorf("ILP_KEY: d: %w", err))
	}

	env.Run(func() error { return sendOnce(env, key) })
}

// sendOnce makes one connection: handshake, rows, close. Every wait is bounded by env.Timeout
// (ILP_TIMEOUT_S): a server that stops answering must not hang the client.
func sendOnce(env *example.Env, key *ecdsa.PrivateKey) error {
	// 2. Connect.
	conn, err := net.DialTimeout("tcp", env.Addr, env.Timeout)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()

	// 3. The key id (the JWK's kid), ended by '\n'.
	conn.SetWriteDeadline(time.Now().Add(env.Timeout))
	if _, err := io.WriteString(conn, env.JWK.Kid+"\n"); err != nil {
		return fmt.Errorf("sending the key id: %w", err)
	}

	// 4. The challenge: 512 printable bytes, then '\n'. TCP is a byte stream, not a sequence of
	// messages: the 513 bytes may arrive in several pieces, and one Read returns only what has
	// arrived so far. So keep reading until the '\n' shows up. The deadline, set once, bounds
	// the whole loop. A server that closes the connection before the '\n' ends it with io.EOF.
	conn.SetReadDeadline(time.Now().Add(env.Timeout))
	var received []byte
	piece := make([]byte, 1024)
	for {
		n, err := conn.Read(piece)
		received = append(received, piece[:n]...)
		if bytes.IndexByte(received, '\n') >= 0 {
			break // the whole line is here
		}
		if err == io.EOF {
			return fmt.Errorf("reading the challenge: the server closed the connection after %d bytes, before the '\\n'", len(received))
		}
		if err != nil {
			return fmt.Errorf("reading the challenge: %w", err) // the deadline passed, say
		}
		if len(received) > 4096 {
			return fmt.Errorf("reading the challenge: no '\\n' in the first %d bytes", len(received))
		}
	}
	// The challenge is what came before the '\n'. QuestDB sends nothing after it: it now
	// waits for the signature.
	challenge, _, _ := bytes.Cut(received, []byte("\n"))

	// 5. Sign SHA-256 of the 512 challenge bytes (without the '\n').
	digest := sha256.Sum256(challenge)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return fmt.Errorf("signing the challenge: %w", err)
	}

	// 6. The raw signature is r || s with EACH scalar exactly 32 bytes, big-endian. r and s are
	// just numbers below the curve order; about one in 256 starts with a zero byte, and
	// r.Bytes() would then return 31 bytes. FillBytes left-pads with zeros to the buffer's
	// size, so the signature is always 64 bytes. That length is what matters: the server
	// picks the format by the decoded length alone, 64 bytes = raw r || s, anything else =
	// DER. (See cmd/wrong_unpadded_bytes for what r.Bytes() does to you.)
	signature := make([]byte, 0, 64)
	signature = append(signature, r.FillBytes(make([]byte, 32))...)
	signature = append(signature, s.FillBytes(make([]byte, 32))...)

	// 7. STANDARD base64 ('+' and '/', padded with '='), then '\n'. The server rejects the
	// URL-safe alphabet ('-' and '_'), although the JWK's d was written in it.
	conn.SetWriteDeadline(time.Now().Add(env.Timeout))
	line := base64.StdEncoding.EncodeToString(signature) + "\n"
	if _, err := io.WriteString(conn, line); err != nil {
		return fmt.Errorf("sending the signature: %w", err)
	}

	// 8. The rows, the fixture's ILP text, one line each. The server says NOTHING on success
	// (and just closes the connection on failure), so there is no answer to wait for: send
	// the rows right behind the signature. The client cannot tell from here whether it was
	// accepted; a rejected client usually writes into a closed socket without noticing.
	conn.SetWriteDeadline(time.Now().Add(env.Timeout))
	var rows strings.Builder
	for _, row := range env.Rows {
		rows.WriteString(row.ILP + "\n")
	}
	if _, err := io.WriteString(conn, rows.String()); err != nil {
		return fmt.Errorf("sending the rows: %w", err)
	}

	// 9. Close. It does not wait: the kernel sends what is still buffered on its own.
	if err := conn.Close(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}
