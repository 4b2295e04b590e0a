package example

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"
)

func TestSeconds(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"10": 10 * time.Second, "4": 4 * time.Second, "2.5": 2500 * time.Millisecond,
		".5": 500 * time.Millisecond, "1.": time.Second, "007": 7 * time.Second,
	} {
		if got, err := seconds("ILP_TIMEOUT_S", text); err != nil || got != want {
			t.Errorf("seconds(%q) = %v, %v; want %v", text, got, err, want)
		}
	}
	for _, text := range []string{"abc", "0", "0.0", "-1", "+1", "1e3", "inf", "NaN", " 1", "1 s", "0x10", "1_0", "2000000000"} {
		if got, err := seconds("ILP_TIMEOUT_S", text); err == nil {
			t.Errorf("seconds(%q) = %v, want an error", text, got)
		}
	}
}

func TestPositiveInteger(t *testing.T) {
	if n, err := positiveInteger("ILP_CONNECTIONS", "1800"); err != nil || n != 1800 {
		t.Errorf("positiveInteger(1800) = %d, %v", n, err)
	}
	for _, text := range []string{"0", "-1", "+1", "x", "1.5", " 1"} {
		if _, err := positiveInteger("ILP_CONNECTIONS", text); err == nil {
			t.Errorf("positiveInteger(%q): want an error", text)
		}
	}
}

func TestOptionalEmptyMeansDefault(t *testing.T) {
	t.Setenv("ILP_CONNECTIONS", "")
	if got := optional("ILP_CONNECTIONS", "1"); got != "1" {
		t.Errorf("optional of an empty variable = %q, want the default", got)
	}
}

func TestRefusals(t *testing.T) {
	rawOnly := Supports{ProtocolVersions: []int{1}}
	cases := []struct {
		supports Supports
		env      Env
		want     string
	}{
		{rawOnly, Env{ProtocolVersion: 1}, ""},
		{rawOnly, Env{ProtocolVersion: 2}, "ILP_PROTOCOL_VERSION=2: this example sends protocol version 1 only"},
		{Supports{ProtocolVersions: []int{1, 2}}, Env{ProtocolVersion: 3}, "ILP_PROTOCOL_VERSION=3: this example sends protocol versions 1, 2 only"},
		{rawOnly, Env{ProtocolVersion: 1, TLSCA: "/etc/hostname"}, "ILP_TLS_CA is set, but this example speaks plain TCP only"},
		{Supports{ProtocolVersions: []int{1}, TLS: true}, Env{ProtocolVersion: 1, TLSCA: "/etc/hostname"}, ""},
	}
	for _, c := range cases {
		got := ""
		if err := c.supports.check(&c.env); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%+v with %+v: got %q, want %q", c.supports, c.env, got, c.want)
		}
	}
}

// TestDescribeTimeouts holds "timed out after N s" against the errors Go really returns.
func TestDescribeTimeouts(t *testing.T) {
	env := &Env{timeoutText: "2.5"}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	conn, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, readErr := conn.Read(make([]byte, 10)) // "read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout"
	if readErr == nil {
		t.Fatal("the read did not time out")
	}
	_, dialErr := net.DialTimeout("tcp", listener.Addr().String(), time.Nanosecond) // "dial tcp ...: i/o timeout"
	if dialErr == nil {
		t.Skip("a dial within 1 ns succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()

	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("connection 1: reading the challenge: %w", readErr), "connection 1: reading the challenge: timed out after 2.5 s"},
		{fmt.Errorf("connection 2: connecting: %w", dialErr), "connection 2: connecting: timed out after 2.5 s"},
		// go-questdb-client v4.1.0 flattens its causes with %v
		{fmt.Errorf("connection 3: connecting and authenticating: %w", fmt.Errorf("empty challenge response from server: %v", readErr)),
			"connection 3: connecting and authenticating: empty challenge response from server: timed out after 2.5 s"},
		{fmt.Errorf("connection 4: flushing: %w", ctx.Err()), "connection 4: flushing: timed out after 2.5 s"},
		{errors.New("connection 5: connecting: dial tcp 127.0.0.1:9: connect: connection refused"), "connection 5: connecting: dial tcp 127.0.0.1:9: connect: connection refused"},
	} {
		if got := env.describe(c.err).Error(); got != c.want {
			t.Errorf("describe(%q) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestArraysAndDecimals(t *testing.T) {
	line := `{"id": "r", "table": "t", "symbols": {}, "timestamp": null, "ilp": null, "columns": {` +
		`"a": {"type": "array", "element": "double", "shape": [2, 2], "value": [[1.0, 2.0], [3.0, "NaN"]], "binary": true},` +
		`"e": {"type": "array", "element": "double", "shape": [2, 0], "value": []},` +
		`"d": {"type": "decimal", "scale": 4, "unscaled": "-1234567890123456789012345", "value": "-123456789012345678901.2345"}}}`
	row, err := parseRow([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	array := row.Columns[0].Value.(Array)
	if len(array.Values) != 4 || array.Values[2] != 3 || !math.IsNaN(array.Values[3]) || !row.Columns[0].Binary {
		t.Errorf("array: %+v", row.Columns[0])
	}
	if empty := row.Columns[1].Value.(Array); len(empty.Values) != 0 || empty.Shape[0] != 2 {
		t.Errorf("empty array: %+v", empty)
	}
	decimal := row.Columns[2].Value.(Decimal)
	if decimal.Scale != 4 || decimal.Unscaled.String() != "-1234567890123456789012345" {
		t.Errorf("decimal: %+v", decimal)
	}
	if row.ILP != "" {
		t.Errorf("ilp null: %q", row.ILP)
	}
	for _, bad := range []string{`[[1.0, 2.0], [3.0]]`, `[1.0, 2.0]`} {
		broken := strings.Replace(line, `[[1.0, 2.0], [3.0, "NaN"]]`, bad, 1)
		if _, err := parseRow([]byte(broken)); err == nil {
			t.Errorf("shape [2, 2] with value %s was accepted", bad)
		}
	}
}
