// Package fieldtype converts the values of data-exchanger imports to the
// types an exchanger declares (ctx:exchanger{types = {price = "integer"}}):
// a CSV cell is always text, so without declared types every value reached
// the plugin's import function as a string. JSON values are checked (and
// timestamps normalised) the same way, so both formats give the plugin the
// same Lua types.
package fieldtype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type is a declared field type.
type Type string

// The declared types.
const (
	String    Type = "string"
	Integer   Type = "integer"
	Number    Type = "number"
	Boolean   Type = "boolean"
	JSON      Type = "json"
	Timestamp Type = "timestamp"
)

// Names lists the types for error messages.
const Names = "string, integer, number, boolean, json, timestamp"

// Parse checks a declared type name.
func Parse(name string) (Type, error) {
	switch t := Type(name); t {
	case String, Integer, Number, Boolean, JSON, Timestamp:
		return t, nil
	}
	return "", fmt.Errorf("unknown field type %q (%s)", name, Names)
}

// timestampLayouts are what a timestamp cell may look like; values without
// a zone are UTC.
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// FromText converts a CSV cell.
func FromText(t Type, s string) (any, error) {
	switch t {
	case Integer:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || math.Abs(float64(n)) > 1<<53 {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case Number:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case Boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes", "t", "y":
			return true, nil
		case "false", "0", "no", "f", "n":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true/false, 1/0, yes/no)", s)
	case JSON:
		dec := json.NewDecoder(bytes.NewReader([]byte(s)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			return nil, fmt.Errorf("%q is not JSON", abbreviate(s))
		}
		return v, nil
	case Timestamp:
		return timestamp(s)
	}
	return s, nil
}

// Check converts a JSON import value (numbers as json.Number) to the same
// Go value FromText gives, or says why it does not fit.
func Check(t Type, v any) (any, error) {
	if s, ok := v.(string); ok && t != String && t != JSON {
		return FromText(t, s) // "12" for an integer: as in CSV
	}
	switch t {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("%s is not a string", describe(v))
	case Integer:
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil && math.Abs(float64(i)) <= 1<<53 {
				return i, nil
			}
		}
		return nil, fmt.Errorf("%s is not an integer", describe(v))
	case Number:
		if n, ok := v.(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				return f, nil
			}
		}
		return nil, fmt.Errorf("%s is not a number", describe(v))
	case Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s is not a boolean", describe(v))
	case Timestamp:
		return nil, fmt.Errorf("%s is not a timestamp (an RFC 3339 string)", describe(v))
	}
	return v, nil // JSON: any value
}

func timestamp(s string) (any, error) {
	s = strings.TrimSpace(s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return nil, fmt.Errorf("%q is not a timestamp (RFC 3339, \"2006-01-02 15:04:05\" or \"2006-01-02\"; UTC unless a zone is given)", s)
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return abbreviate(string(b))
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
