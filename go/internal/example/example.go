// Package example is the boring part every Go example of the gallery shares, so that each
// example's main.go shows only its lesson (the handshake, or the official client's API):
//
//   - the environment of interop/CLIENTS.md (ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS,
//     ILP_CONNECTIONS), read and checked once, before any connection;
//   - the client key, loaded from its JWK file (key.go);
//   - the rows fixture (rows.go);
//   - reading one line from the server with a deadline (ReadLine);
//   - the connection loop and the one-line error on stderr.
//
// The handshake itself is deliberately NOT here: each raw example spells it out.
package example

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Timeout bounds every wait: connecting, reading the challenge, writing the rows, flushing.
// A server that never answers must not hang an example forever.
const Timeout = 10 * time.Second

// Env is everything an example needs, taken from the environment.
type Env struct {
	ID          string // the example id ("go-raw-der"), first word of every error line
	Addr        string // "ILP_HOST:ILP_PORT", ready for net.Dial
	Key         *Key   // from the JWK file ILP_KEY
	Rows        []Row  // from the rows fixture ILP_ROWS
	Connections int    // ILP_CONNECTIONS, 1 when unset
}

// Load reads and checks the environment, the key and the rows. On any problem it ends the
// program with one line on stderr, before the first connection.
func Load(id string) *Env {
	env, err := load(id)
	if err != nil {
		Fail(id, err)
	}
	return env
}

func load(id string) (*Env, error) {
	host, err := required("ILP_HOST")
	if err != nil {
		return nil, err
	}
	portText, err := required("ILP_PORT")
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("ILP_PORT: %q is not a port number (1-65535)", portText)
	}
	keyPath, err := required("ILP_KEY")
	if err != nil {
		return nil, err
	}
	rowsPath, err := required("ILP_ROWS")
	if err != nil {
		return nil, err
	}
	connections := 1
	if text := os.Getenv("ILP_CONNECTIONS"); text != "" {
		connections, err = strconv.Atoi(text)
		if err != nil || connections < 1 {
			return nil, fmt.Errorf("ILP_CONNECTIONS: %q is not a positive integer", text)
		}
	}
	key, err := LoadKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("ILP_KEY: %w", err)
	}
	rows, err := LoadRows(rowsPath)
	if err != nil {
		return nil, fmt.Errorf("ILP_ROWS: %w", err)
	}
	return &Env{
		ID:          id,
		Addr:        net.JoinHostPort(host, strconv.Itoa(port)),
		Key:         key,
		Rows:        rows,
		Connections: connections,
	}, nil
}

func required(name string) (string, error) {
	value := os.Getenv(name)
	if value == "" {
		return "", fmt.Errorf("%s is not set (required, see interop/CLIENTS.md)", name)
	}
	return value, nil
}

// Run calls connect for connections 1..Connections, one after another. The first error ends
// the program: "ID: connection N: what failed" on stderr, exit 1.
func (env *Env) Run(connect func() error) {
	for n := 1; n <= env.Connections; n++ {
		if err := connect(); err != nil {
			Fail(env.ID, fmt.Errorf("connection %d: %w", n, err))
		}
	}
}

// RunAll is Run for an anti-example: it reports each failed connection on its own line and
// keeps going, so that the harness sees every attempt, then exits 1 if any failed.
func (env *Env) RunAll(connect func() error) {
	failed := 0
	for n := 1; n <= env.Connections; n++ {
		if err := connect(); err != nil {
			failed++
			fmt.Fprintln(os.Stderr, oneLine(env.ID, fmt.Errorf("connection %d: %w", n, err)))
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// Fail ends the program with one line on stderr, "ID: error", and exit status 1.
func Fail(id string, err error) {
	fmt.Fprintln(os.Stderr, oneLine(id, err))
	os.Exit(1)
}

func oneLine(id string, err error) string {
	text := strings.ReplaceAll(err.Error(), "\n", " ")
	return id + ": " + text
}

// ReadLine reads from conn up to the first '\n' and returns what came before it.
//
// TCP delivers a byte stream, not messages: the server writes its 513-byte challenge line at
// once, but it may arrive in several pieces, so a single Read can return part of it. Keep
// reading until the '\n' shows up. The caller's deadline (conn.SetDeadline) bounds the wait;
// a line longer than max bytes is an error rather than a reason to read forever.
func ReadLine(conn net.Conn, max int) ([]byte, error) {
	var line []byte
	piece := make([]byte, 1024)
	for {
		n, err := conn.Read(piece)
		line = append(line, piece[:n]...)
		if end := bytes.IndexByte(line, '\n'); end >= 0 {
			// Nothing follows the challenge: the server waits for the signature.
			return line[:end], nil
		}
		if len(line) > max {
			return nil, fmt.Errorf("no line end within %d bytes", max)
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("server closed the connection after %d bytes, before the line end", len(line))
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("%d bytes received, then %w", len(line), os.ErrDeadlineExceeded)
		}
		if err != nil {
			return nil, err
		}
	}
}
