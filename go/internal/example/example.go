// Package example is the boring part every Go example of the gallery shares, so that each
// example's main.go shows only its lesson (the handshake, or the official client's API):
//
//   - the environment of interop/CLIENTS.md, read and checked once, before any connection:
//     ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS, ILP_TIMEOUT_S,
//     ILP_PROTOCOL_VERSION and ILP_TLS_CA, and the refusal of a protocol version or of TLS
//     that an example does not support;
//   - the JWK key file, as text (key.go);
//   - the rows fixture (rows.go);
//   - the connection loop and the one-line error on stderr.
//
// The handshake is deliberately NOT here, not even the decoding of the key's d or the loop
// that reads the challenge: each raw example spells it out.
package example

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Supports is what an example declares it can do. Asked for anything else (another
// ILP_PROTOCOL_VERSION, or TLS through ILP_TLS_CA), Load refuses before the first connection
// and never falls back.
type Supports struct {
	ProtocolVersions []int // the ILP protocol versions it can send
	TLS              bool  // whether it can connect with TLS, trusting the CAs of ILP_TLS_CA
}

// Env is everything an example needs, taken from the environment.
type Env struct {
	ID              string        // the example id ("go-raw-der"), first word of every error line
	Addr            string        // "ILP_HOST:ILP_PORT", ready for net.Dial
	JWK             JWK           // the text of the JWK file ILP_KEY
	Rows            []Row         // from the rows fixture ILP_ROWS
	Connections     int           // ILP_CONNECTIONS, 1 when unset
	Timeout         time.Duration // ILP_TIMEOUT_S: the bound of every wait, 10 s when unset
	ProtocolVersion int           // ILP_PROTOCOL_VERSION, 1 when unset
	TLSCA           string        // ILP_TLS_CA, the path of a PEM file of CAs; "" for plain TCP

	timeoutText string // ILP_TIMEOUT_S as given ("4", "2.5"), quoted in "timed out after N s"
}

// Load reads and checks the environment, the key file and the rows, and refuses what the
// example does not support. On any problem it ends the program with one line on stderr,
// before the first connection.
func Load(id string, supports Supports) *Env {
	env, err := load(id)
	if err == nil {
		err = supports.check(env)
	}
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
		return nil, fmt.Errorf("ILP_PORT must be a port number (1-65535), got %q", portText)
	}
	keyPath, err := required("ILP_KEY")
	if err != nil {
		return nil, err
	}
	rowsPath, err := required("ILP_ROWS")
	if err != nil {
		return nil, err
	}
	connections, err := positiveInteger("ILP_CONNECTIONS", optional("ILP_CONNECTIONS", "1"))
	if err != nil {
		return nil, err
	}
	timeoutText := optional("ILP_TIMEOUT_S", "10")
	timeout, err := seconds("ILP_TIMEOUT_S", timeoutText)
	if err != nil {
		return nil, err
	}
	version, err := protocolVersion("ILP_PROTOCOL_VERSION", optional("ILP_PROTOCOL_VERSION", "1"))
	if err != nil {
		return nil, err
	}
	tlsCA := os.Getenv("ILP_TLS_CA")
	if tlsCA != "" {
		if _, err := os.ReadFile(tlsCA); err != nil {
			return nil, fmt.Errorf("ILP_TLS_CA: %w", err)
		}
	}
	jwk, err := LoadJWK(keyPath)
	if err != nil {
		return nil, fmt.Errorf("ILP_KEY: %w", err)
	}
	rows, err := LoadRows(rowsPath)
	if err != nil {
		return nil, fmt.Errorf("ILP_ROWS: %w", err)
	}
	for _, row := range rows {
		if version == 1 && row.ILP == "" {
			return nil, fmt.Errorf("ILP_ROWS row %s has no text form (its ilp is null): protocol version 1 "+
				"cannot send it; ILP_PROTOCOL_VERSION must be 2 or 3", row.ID)
		}
	}
	return &Env{
		ID:              id,
		Addr:            net.JoinHostPort(host, strconv.Itoa(port)),
		JWK:             jwk,
		Rows:            rows,
		Connections:     connections,
		Timeout:         timeout,
		ProtocolVersion: version,
		TLSCA:           tlsCA,
		timeoutText:     timeoutText,
	}, nil
}

// check refuses, with the contract's wording, what the example cannot do.
func (supports Supports) check(env *Env) error {
	versions := make([]string, len(supports.ProtocolVersions))
	known := false
	for i, version := range supports.ProtocolVersions {
		versions[i] = strconv.Itoa(version)
		known = known || version == env.ProtocolVersion
	}
	if !known {
		plural := ""
		if len(versions) > 1 {
			plural = "s"
		}
		return fmt.Errorf("ILP_PROTOCOL_VERSION=%d: this example sends protocol version%s %s only",
			env.ProtocolVersion, plural, strings.Join(versions, ", "))
	}
	if env.TLSCA != "" && !supports.TLS {
		return fmt.Errorf("ILP_TLS_CA is set, but this example speaks plain TCP only")
	}
	return nil
}

func required(name string) (string, error) {
	value := os.Getenv(name)
	if value == "" {
		return "", fmt.Errorf("%s is not set (required, see interop/CLIENTS.md)", name)
	}
	return value, nil
}

// optional is the variable's value, or byDefault when it is unset or empty.
func optional(name, byDefault string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return byDefault
}

func positiveInteger(name, text string) (int, error) {
	value, err := strconv.Atoi(text)
	if err != nil || value < 1 || strings.ContainsAny(text, "+-") {
		return 0, fmt.Errorf("%s must be a positive integer, got %q", name, text)
	}
	return value, nil
}

// plainDecimal is how ILP_TIMEOUT_S is written: digits, with an optional decimal point.
var plainDecimal = regexp.MustCompile(`^([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// longest is the longest timeout accepted: beyond it, a time.Duration would overflow.
const longest = 1e9 // seconds, about 31 years

func seconds(name, text string) (time.Duration, error) {
	value, err := strconv.ParseFloat(text, 64)
	if !plainDecimal.MatchString(text) || err != nil || value <= 0 {
		return 0, fmt.Errorf("%s must be a positive number of seconds, got %q", name, text)
	}
	if value > longest {
		return 0, fmt.Errorf("%s must be at most %g seconds, got %q", name, float64(longest), text)
	}
	duration := time.Duration(value * float64(time.Second))
	if duration <= 0 {
		return 0, fmt.Errorf("%s must be at least a nanosecond, got %q", name, text)
	}
	return duration, nil
}

func protocolVersion(name, text string) (int, error) {
	switch text {
	case "1", "2", "3":
		return strconv.Atoi(text)
	}
	return 0, fmt.Errorf("%s must be 1, 2 or 3, got %q", name, text)
}

// Run calls connect for connections 1..Connections, one after another. The first error ends
// the program: "ID: connection N: what failed" on stderr, exit 1.
func (env *Env) Run(connect func() error) {
	for n := 1; n <= env.Connections; n++ {
		if err := connect(); err != nil {
			Fail(env.ID, env.describe(fmt.Errorf("connection %d: %w", n, err)))
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
			fmt.Fprintln(os.Stderr, oneLine(env.ID, env.describe(fmt.Errorf("connection %d: %w", n, err))))
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
	return id + ": " + strings.Join(strings.Fields(err.Error()), " ")
}

// goTimeout is how Go words a deadline that expired, at the end of an error's text: a dial,
// read or write that passed its deadline ("read tcp 127.0.0.1:50212->127.0.0.1:9009: i/o
// timeout"), or a context past its deadline. Matched in the text, not with errors.Is,
// because a library may flatten the error it wraps (go-questdb-client v4.1.0 formats its
// causes with %v).
var goTimeout = regexp.MustCompile(`((dial|read|write) [a-z0-9]+ \S+: )?(i/o timeout|context deadline exceeded)$`)

// describe words an expired deadline as the contract does, "timed out after N s" with N as
// ILP_TIMEOUT_S was given: "connection 1: reading the challenge: timed out after 4 s".
func (env *Env) describe(err error) error {
	text := err.Error()
	if !goTimeout.MatchString(text) {
		return err
	}
	return fmt.Errorf("%s", goTimeout.ReplaceAllLiteralString(text, "timed out after "+env.timeoutText+" s"))
}
