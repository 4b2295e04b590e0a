package example

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"
)

// Row is one row of the fixture (interop/rows.jsonl), with its values already in Go types.
// Symbols and Columns keep the fixture's order (a Go map would forget it).
type Row struct {
	ID        string     // names the row in clients.toml's omit_rows
	Table     string     // the table name, unescaped
	Symbols   []Symbol   // tags, sent before the columns
	Columns   []Column   // fields
	Timestamp *time.Time // the designated timestamp; nil: let the server assign it

	// ILP is the same row as one ILP line, without its line end; raw examples send it. It
	// may contain an escaped newline (a backslash, then '\n') inside a string value. Empty
	// when the fixture's ilp is null: the row has no text form (it holds an array).
	ILP string
}

// Symbol is one tag of a row: a name and a string value.
type Symbol struct{ Name, Value string }

// Column is one field of a row. Type is the fixture's type and says what Value holds:
//
//	"integer"   int64
//	"float"     float64 (NaN and ±Inf included)
//	"string"    string
//	"boolean"   bool
//	"timestamp" time.Time
//	"array"     Array
//	"decimal"   Decimal
//
// Binary is the fixture's "binary" flag: the value must arrive in binary form.
type Column struct {
	Name   string
	Type   string
	Value  any
	Binary bool
}

// Array is a DOUBLE array of the fixture: its shape and its values flat, in row-major order
// (the last index varies fastest). An empty array has a 0 in its shape and no values.
type Array struct {
	Shape  []uint
	Values []float64
}

// Decimal is a DECIMAL of the fixture: value = Unscaled * 10^-Scale; Text is the same value
// as the fixture writes it ("-123.4500").
type Decimal struct {
	Scale    uint32
	Unscaled *big.Int
	Text     string
}

// LoadRows reads a rows fixture: JSON lines, one row each (blank lines skipped).
func LoadRows(path string) ([]Row, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		row, err := parseRow([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New(path + ": no rows")
	}
	return rows, nil
}

func parseRow(line []byte) (Row, error) {
	var raw struct {
		ID        string          `json:"id"`
		Table     string          `json:"table"`
		Symbols   json.RawMessage `json:"symbols"`
		Columns   json.RawMessage `json:"columns"`
		Timestamp *struct {
			Value int64  `json:"value"`
			Unit  string `json:"unit"`
		} `json:"timestamp"`
		ILP json.RawMessage `json:"ilp"` // a string, or null: no text form
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Row{}, err
	}
	row := Row{ID: raw.ID, Table: raw.Table}
	if row.ID == "" || row.Table == "" || len(raw.ILP) == 0 {
		return row, errors.New("a row needs an id, a table and its ilp (text, or null)")
	}
	if err := json.Unmarshal(raw.ILP, &row.ILP); err != nil {
		return row, fmt.Errorf("row %s: ilp: %w", row.ID, err)
	}
	names, values, err := objectInOrder(raw.Symbols)
	if err != nil {
		return row, fmt.Errorf("row %s: symbols: %w", row.ID, err)
	}
	for i, name := range names {
		var value string
		if err := json.Unmarshal(values[i], &value); err != nil {
			return row, fmt.Errorf("row %s: symbol %s: %w", row.ID, name, err)
		}
		row.Symbols = append(row.Symbols, Symbol{name, value})
	}
	names, values, err = objectInOrder(raw.Columns)
	if err != nil {
		return row, fmt.Errorf("row %s: columns: %w", row.ID, err)
	}
	for i, name := range names {
		column, err := parseColumn(name, values[i])
		if err != nil {
			return row, fmt.Errorf("row %s: column %s: %w", row.ID, name, err)
		}
		row.Columns = append(row.Columns, column)
	}
	if raw.Timestamp != nil {
		ts, err := instant(raw.Timestamp.Value, raw.Timestamp.Unit)
		if err != nil {
			return row, fmt.Errorf("row %s: timestamp: %w", row.ID, err)
		}
		row.Timestamp = &ts
	}
	return row, nil
}

func parseColumn(name string, data json.RawMessage) (Column, error) {
	var raw struct {
		Type     string          `json:"type"`
		Value    json.RawMessage `json:"value"`
		Unit     string          `json:"unit"`
		Binary   bool            `json:"binary"`
		Shape    []uint          `json:"shape"`    // array
		Scale    uint32          `json:"scale"`    // decimal
		Unscaled string          `json:"unscaled"` // decimal, a string: it exceeds 64 bits
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Column{}, err
	}
	column := Column{Name: name, Type: raw.Type, Binary: raw.Binary}
	var err error
	switch raw.Type {
	case "integer":
		var v int64 // json reads an integer literal into an int64 exactly, up to 2^63-1
		err = json.Unmarshal(raw.Value, &v)
		column.Value = v
	case "float":
		var v float64
		v, err = parseFloat(raw.Value)
		column.Value = v
	case "string":
		var v string
		err = json.Unmarshal(raw.Value, &v)
		column.Value = v
	case "boolean":
		var v bool
		err = json.Unmarshal(raw.Value, &v)
		column.Value = v
	case "timestamp":
		var v int64
		if err = json.Unmarshal(raw.Value, &v); err == nil {
			column.Value, err = instant(v, raw.Unit)
		}
	case "array":
		array := Array{Shape: raw.Shape}
		err = flatten(raw.Value, raw.Shape, &array.Values)
		column.Value = array
	case "decimal":
		unscaled, ok := new(big.Int).SetString(raw.Unscaled, 10)
		var text string
		if err = json.Unmarshal(raw.Value, &text); err == nil && !ok {
			err = fmt.Errorf("unscaled %q is not an integer", raw.Unscaled)
		}
		column.Value = Decimal{Scale: raw.Scale, Unscaled: unscaled, Text: text}
	default:
		err = fmt.Errorf("unknown type %q", raw.Type)
	}
	return column, err
}

// flatten appends the values of a nested JSON array of the given shape to out, in row-major
// order, and checks that every level has its dimension's length.
func flatten(data json.RawMessage, shape []uint, out *[]float64) error {
	if len(shape) == 0 {
		v, err := parseFloat(data)
		*out = append(*out, v)
		return err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return err
	}
	if product(shape) == 0 && len(items) == 0 {
		return nil // an empty array is written [] whatever its shape
	}
	if uint(len(items)) != shape[0] {
		return fmt.Errorf("%d values where the shape says %d", len(items), shape[0])
	}
	for _, item := range items {
		if err := flatten(item, shape[1:], out); err != nil {
			return err
		}
	}
	return nil
}

func product(shape []uint) uint {
	n := uint(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// parseFloat reads a float column's value: a JSON number, or one of the strings "NaN",
// "Infinity", "-Infinity" (JSON has no literal for them).
func parseFloat(data json.RawMessage) (float64, error) {
	var text string
	if json.Unmarshal(data, &text) == nil {
		switch text {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("%q is not a number", text)
	}
	return strconv.ParseFloat(string(data), 64)
}

func instant(value int64, unit string) (time.Time, error) {
	switch unit {
	case "ns":
		return time.Unix(0, value), nil
	case "us":
		return time.UnixMicro(value), nil
	case "ms":
		return time.UnixMilli(value), nil
	}
	return time.Time{}, fmt.Errorf("unknown unit %q", unit)
}

// objectInOrder returns the keys and raw values of a JSON object in their written order.
func objectInOrder(data json.RawMessage) ([]string, []json.RawMessage, error) {
	decoder := json.NewDecoder(bytes.NewReader(data))
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	var names []string
	var values []json.RawMessage
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return nil, nil, err
		}
		var value json.RawMessage
		if err := decoder.Decode(&value); err != nil {
			return nil, nil, err
		}
		names = append(names, token.(string))
		values = append(values, value)
	}
	return names, values, nil
}
