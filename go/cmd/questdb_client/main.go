// Command questdb_client sends the fixture's rows with QuestDB's official Go client,
// github.com/questdb/go-questdb-client/v4 (pinned to v4.1.0 in go.mod), authenticating over
// ILP/TCP with the client's key given in a config string. The library does the whole
// handshake inside LineSenderFromConf and signs the challenge in DER (ecdsa.SignASN1), in
// standard base64. Every row is built through the library's API, from the fixture's typed
// fields (not from its ilp text).
//
// Two things to know about this library over TCP:
//   - Give every call a context with a deadline. The library dials, reads the challenge and
//     flushes under the context's deadline; with context.Background() a silent server would
//     block LineSenderFromConf forever. Those are all its waits over TCP (Close does not
//     wait), so the deadline, ILP_TIMEOUT_S here, bounds them all: no watchdog is needed.
//   - A rejected handshake is not reported: the server closes the connection without a
//     word, LineSenderFromConf returns a working-looking sender, and Flush usually succeeds
//     too (the rows only reach the local socket buffer); only a later write may fail with a
//     broken pipe. Only the server knows; here, the stub's events.
//
// Example id: go-questdb. Input and behaviour: interop/CLIENTS.md.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"example.com/ilp-auth-gallery/go/internal/example"
	qdb "github.com/questdb/go-questdb-client/v4"
)

func main() {
	// The environment of interop/CLIENTS.md (ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS,
	// ILP_CONNECTIONS, ILP_TIMEOUT_S, ...), read and checked once.
	env := example.Load("go-questdb", example.Supports{
		ProtocolVersions: []int{1, 2, 3},
		TLS:              true,
	})
	if env.TLSCA != "" {
		// v4.1.0's config string has no option for the CAs to trust: it trusts the system's, which Go
		// reads from SSL_CERT_FILE when that is set, before the first TLS connection. Setting it here
		// makes the stub's CA the only one trusted. Never tls_verify=unsafe_off: a client that trusts
		// any certificate sends its key id and signature to whoever answers.
		os.Setenv("SSL_CERT_FILE", env.TLSCA)
	}
	env.Run(func() error { return sendOnce(env) })
}

// sendOnce makes one connection: one sender, all the rows, flush, close.
func sendOnce(env *example.Env) error {
	// The config string. username is the key id, token is d (base64url, as in the JWK);
	// token_x and token_y (the public key) are accepted but ignored by the Go client. A ';'
	// inside a value is written ';;'. protocol_version 1 sends every value as text (over TCP,
	// leaving it unset means 1 too); 2 sends floats in binary and adds DOUBLE arrays; 3 adds
	// DECIMAL values. TCP cannot negotiate: the version is the one named here.
	// tcps:: is TLS (QuestDB Enterprise, or the stub's --tls), trusting SSL_CERT_FILE (main).
	scheme := "tcp"
	if env.TLSCA != "" {
		scheme = "tcps"
	}
	conf := fmt.Sprintf("%s::addr=%s;username=%s;token=%s;token_x=%s;token_y=%s;protocol_version=%d;",
		scheme, env.Addr, escape(env.JWK.Kid), escape(env.JWK.D), escape(env.JWK.X), escape(env.JWK.Y),
		env.ProtocolVersion)

	// Connect and authenticate, bounded: the deadline covers the dial and the challenge.
	ctx, cancel := context.WithTimeout(context.Background(), env.Timeout)
	defer cancel()
	if env.TLSCA != "" {
		// harness: over tcps:: v4.1.0 dials with tls.DialWithDialer, which ignores the context: the TCP
		// connect and the TLS handshake have no bound of the library's, so a watchdog gives them one.
		watchdog := time.AfterFunc(env.Timeout, func() {
			example.Fail(env.ID, fmt.Errorf("connecting and authenticating over TLS: timed out after %v", env.Timeout))
		})
		defer watchdog.Stop()
	}
	sender, err := qdb.LineSenderFromConf(ctx, conf)
	if err != nil {
		return fmt.Errorf("connecting and authenticating: %w", err)
	}

	// The rows, then one Flush, under a fresh deadline.
	ctx, cancel = context.WithTimeout(context.Background(), env.Timeout)
	defer cancel()
	for _, row := range env.Rows {
		if err := addRow(ctx, sender, row); err != nil {
			sender.Close(ctx)
			return fmt.Errorf("row %s: %w", row.ID, err)
		}
	}
	if err := sender.Flush(ctx); err != nil {
		sender.Close(ctx)
		return fmt.Errorf("flushing: %w", err)
	}
	// Close does not flush a TCP sender: the Flush above is what sends the rows.
	if err := sender.Close(ctx); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}

// addRow buffers one fixture row: the table, then the symbols (they must come before any
// column), then the columns by type, then At, which ends the row.
func addRow(ctx context.Context, sender qdb.LineSender, row example.Row) error {
	sender.Table(row.Table)
	for _, symbol := range row.Symbols {
		sender.Symbol(symbol.Name, symbol.Value)
	}
	for _, column := range row.Columns {
		switch column.Type {
		case "integer":
			sender.Int64Column(column.Name, column.Value.(int64))
		case "float":
			// NaN, Infinity and -Infinity are fine: protocol 1 writes them as text, 2 and 3
			// write every float as 8 binary bytes.
			sender.Float64Column(column.Name, column.Value.(float64))
		case "array":
			// A DOUBLE array (protocol 2 and later), always binary. NdArray takes any shape
			// (Float64Array1DColumn and 2D/3D take nested slices); Append fills it in
			// row-major order. Version 1 records an error here, which At returns.
			array := column.Value.(example.Array)
			values, err := qdb.NewNDArray[float64](array.Shape...)
			if err != nil {
				return fmt.Errorf("column %s: %w", column.Name, err)
			}
			for _, v := range array.Values { // as many as the shape holds: the loader checked
				values.Append(v)
			}
			sender.Float64ArrayNDColumn(column.Name, values)
		case "decimal":
			// A DECIMAL (protocol 3), sent in binary: the unscaled value as a big.Int and
			// the scale (DecimalColumnFromString would send "-123.4500d" as text). The
			// column must exist: QuestDB does not create DECIMAL columns from ILP.
			decimal := column.Value.(example.Decimal)
			value, err := qdb.NewDecimal(decimal.Unscaled, decimal.Scale)
			if err != nil {
				return fmt.Errorf("column %s: %w", column.Name, err)
			}
			sender.DecimalColumn(column.Name, value)
		case "string":
			sender.StringColumn(column.Name, column.Value.(string))
		case "boolean":
			sender.BoolColumn(column.Name, column.Value.(bool))
		case "timestamp":
			// Sent in microseconds ("...t", time.Time.UnixMicro): anything finer would be
			// cut off. The fixture's timestamp columns are in microseconds.
			sender.TimestampColumn(column.Name, column.Value.(time.Time))
		default:
			return fmt.Errorf("column %s: type %q has no method here", column.Name, column.Type)
		}
	}
	// The builder methods above record their first error (an illegal name, say); At
	// returns it and drops the row. The designated timestamp goes in nanoseconds.
	if row.Timestamp == nil {
		return sender.AtNow(ctx) // no timestamp: the server assigns one
	}
	return sender.At(ctx, *row.Timestamp)
}

// escape doubles ';', the config string's separator, inside a value.
func escape(value string) string {
	return strings.ReplaceAll(value, ";", ";;")
}
