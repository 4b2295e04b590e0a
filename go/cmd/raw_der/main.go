// Command raw_der authenticates to QuestDB's ILP/TCP port by hand, with crypto/ecdsa, and
// sends the signature in DER (ASN.1 SEQUENCE { INTEGER r, INTEGER s }, usually 70 to 72 bytes), in
// standard base64. Then it sends the fixture's rows as ILP text.
//
// DER is the simplest safe choice in Go: ecdsa.SignASN1 returns it ready to send, with no
// byte layout to get wrong. It is also what the official Go client sends.
//
// The handshake, as the server sees it:
//
//	client: <key id>\n
//	server: <512 random printable bytes>\n          (the challenge)
//	client: <base64 of the signature of those 512 bytes>\n
//	client: <rows...>                               (the server never answers)
//
// Example id: go-raw-der. Input and behaviour: interop/CLIENTS.md.
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
	env := example.Load("go-raw-der") // ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS
	env.Run(func() error { return sendOnce(env) })
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
	// SignASN1 returns the DER encoding. DER integers carry their own lengths, so a leading
	// zero byte in r or s cannot break anything. The server picks the format by the decoded
	// length alone (64 bytes = raw r || s, anything else = DER); a P-256 DER signature is
	// 6 bytes of framing plus r and s in 32 or 33 bytes each (rarely fewer), so in practice
	// never 64 bytes.
	signature, err := ecdsa.SignASN1(rand.Reader, env.Key.Private, digest[:])
	if err != nil {
		return fmt.Errorf("signing the challenge: %w", err)
	}

	// 4. Standard base64 ('+' and '/', padded with '='), then '\n'. The server rejects the
	// URL-safe alphabet ('-' and '_').
	line := base64.StdEncoding.EncodeToString(signature) + "\n"
	if _, err := io.WriteString(conn, line); err != nil {
		return fmt.Errorf("sending the signature: %w", err)
	}

	// 5. The rows. The server says NOTHING on success (and just closes the connection on
	// failure), so there is no answer to wait for: send the rows right behind the signature.
	// The client cannot tell from here whether it was accepted; a rejected client usually
	// writes into a closed socket without noticing.
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
