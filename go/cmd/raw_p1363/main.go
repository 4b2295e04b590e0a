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
// Example id: go-raw-p1363. Input and behaviour: interop/CLIENTS.md.
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
	env := example.Load("go-raw-p1363") // ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS
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
	r, s, err := ecdsa.Sign(rand.Reader, env.Key.Private, digest[:])
	if err != nil {
		return fmt.Errorf("signing the challenge: %w", err)
	}

	// 4. The raw signature is r || s with EACH scalar exactly 32 bytes, big-endian. r and s are
	// just numbers below the curve order; about one in 256 starts with a zero byte, and
	// r.Bytes() would then return 31 bytes. FillBytes left-pads with zeros to the buffer's
	// size, so the signature is always 64 bytes. That length is what matters: the server
	// picks the format by the decoded length alone, 64 bytes = raw r || s, anything else =
	// DER. (See cmd/wrong_unpadded_bytes for what r.Bytes() does to you.)
	signature := make([]byte, 0, 64)
	signature = append(signature, r.FillBytes(make([]byte, 32))...)
	signature = append(signature, s.FillBytes(make([]byte, 32))...)

	// 5. Standard base64 ('+' and '/', padded with '='), then '\n'. The server rejects the
	// URL-safe alphabet ('-' and '_').
	line := base64.StdEncoding.EncodeToString(signature) + "\n"
	if _, err := io.WriteString(conn, line); err != nil {
		return fmt.Errorf("sending the signature: %w", err)
	}

	// 6. The rows. The server says NOTHING on success (and just closes the connection on
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
