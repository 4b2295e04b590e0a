// Command wrong_unpadded_bytes is an ANTI-EXAMPLE. DO NOT COPY IT.
//
// It is raw_p1363 with one defect, the one an older QuestDB docs page (and go-questdb-client
// up to v1.0.4) had: it builds the raw signature as r.Bytes() || s.Bytes(). big.Int.Bytes()
// drops leading zero bytes, so whenever r or s happens to start with a zero byte (about one
// signature in 128) the signature is 63 bytes instead of 64. The server picks the format by
// the decoded length, 64 bytes = raw r || s and anything else = DER, so it parses those 63
// bytes as DER, fails, and closes the connection without a word. The fix is one call:
// r.FillBytes(make([]byte, 32)), as in cmd/raw_p1363 (or send DER, as cmd/raw_der does).
//
// One connection almost always works, which is how the defect survives testing. The client
// usually cannot even tell when it was rejected: the server is silent, and the rows written
// into the closed connection are lost without an error. Only the server side (the stub's
// events) shows it.
//
// Unlike the correct examples, it keeps going after a failed connection, so that the
// harness sees every attempt, and exits 1 at the end if any connection failed.
//
// The handshake, as the server sees it:
//
//	client: <key id>\n
//	server: <512 random printable bytes>\n          (the challenge)
//	client: <base64 of the signature of those 512 bytes>\n
//	client: <rows...>                               (the server never answers)
//
// Example id: go-wrong-unpadded-bytes. Input and behaviour: interop/CLIENTS.md.
package main

import (
	"crypto/ecdsa"
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
	env := example.Load("go-wrong-unpadded-bytes") // ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS
	env.RunAll(func() error { return sendOnce(env) })
}

// sendOnce makes one connection: handshake, rows, close.
func sendOnce(env *example.Env) error {
	conn, err := net.DialTimeout("tcp", env.Addr, example.Timeout)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()
	// Bound the handshake: a server that never sends its challenge must not hang us.
	conn.SetDeadline(time.Now().Add(example.Timeout))

	// 1. The key id, ended by '\n'.
	if _, err := io.WriteString(conn, env.Key.ID+"\n"); err != nil {
		return fmt.Errorf("sending the key id: %w", err)
	}

	// 2. The challenge: 512 bytes, then '\n'. ReadLine keeps reading until the '\n' arrives,
	// because TCP may deliver the 513 bytes in several pieces.
	challenge, err := example.ReadLine(conn, 4096)
	if err != nil {
		return fmt.Errorf("reading the challenge: %w", err)
	}

	// 3. Sign SHA-256 of the 512 challenge bytes (without the '\n').
	digest := sha256.Sum256(challenge)
	r, s, err := ecdsa.Sign(rand.Reader, env.Key.Private, digest[:])
	if err != nil {
		return fmt.Errorf("signing the challenge: %w", err)
	}

	// 4. WRONG: r.Bytes() is the minimal big-endian form of r, WITHOUT leading zero bytes:
	// 31 bytes (or fewer) about once in 256, and the same for s. The signature is then 63
	// bytes, not 64, and the server reads it as DER and rejects it (reason_code
	// "short_raw_signature" in the stub's events).
	// FIX: pad each scalar to 32 bytes: r.FillBytes(make([]byte, 32)), see cmd/raw_p1363.
	signature := append(r.Bytes(), s.Bytes()...) // WRONG: drops leading zero bytes

	// 5. Standard base64 ('+' and '/', padded with '='), then '\n'. The server rejects the
	// URL-safe alphabet ('-' and '_').
	line := base64.StdEncoding.EncodeToString(signature) + "\n"
	if _, err := io.WriteString(conn, line); err != nil {
		return fmt.Errorf("sending the signature: %w", err)
	}

	// 6. The rows. The server says NOTHING on success (and just closes the connection on
	// failure), so there is no answer to wait for: send the rows right behind the signature.
	// When the short signature was rejected, these writes usually still "succeed": the bytes
	// go into the local socket buffer before the server's close arrives, and are lost.
	conn.SetDeadline(time.Now().Add(example.Timeout))
	var rows strings.Builder
	for _, row := range env.Rows {
		rows.WriteString(row.ILP + "\n")
	}
	if _, err := io.WriteString(conn, rows.String()); err != nil {
		return fmt.Errorf("sending the rows: %w", err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}
