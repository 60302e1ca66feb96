package reqschema

import (
	"encoding/json"
	"math"
	"strconv"
)

// QueryObject turns query parameters into the object a query schema sees:
// a parameter whose property in doc declares an integer, number or boolean
// type is converted when it parses as one; an array property gets every
// value (each converted by its items' type); anything else is its first
// value as a string.
func QueryObject(doc map[string]any, q map[string][]string) map[string]any {
	props, _ := doc["properties"].(map[string]any)
	out := make(map[string]any, len(q))
	for name, vals := range q {
		if len(vals) == 0 {
			continue
		}
		prop, _ := props[name].(map[string]any)
		if hasType(prop, "array") {
			items, _ := prop["items"].(map[string]any)
			list := make([]any, len(vals))
			for i, v := range vals {
				list[i] = convert(items, v)
			}
			out[name] = list
			continue
		}
		out[name] = convert(prop, vals[0])
	}
	return out
}

// convert returns s as the scalar type prop declares, or s itself.
func convert(prop map[string]any, s string) any {
	switch {
	case hasType(prop, "integer"):
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return json.Number(s)
		}
	case hasType(prop, "number"):
		if f, err := strconv.ParseFloat(s, 64); err == nil && !isInfOrNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case hasType(prop, "boolean"):
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return s
}

func isInfOrNaN(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

// hasType reports whether prop's "type" is t or a list containing t.
func hasType(prop map[string]any, t string) bool {
	switch v := prop["type"].(type) {
	case string:
		return v == t
	case []any:
		for _, x := range v {
			if x == t {
				return true
			}
		}
	}
	return false
}
