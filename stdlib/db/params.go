package db

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// The parameter types below let pgx pick the encoding from the parameter's
// type in the prepared statement, as it does for Go's own types, and add a
// text form (pgtype.TextValuer) so that a number or boolean can also fill a
// text parameter. pgx sends a parameter in its type's preferred format and
// falls back to the other one; in the text format a TextValuer is used for
// any type.

// intParam is an integral Lua number.
type intParam int64

func (p intParam) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(p), Valid: true}, nil
}

func (p intParam) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: strconv.FormatInt(int64(p), 10), Valid: true}, nil
}

// floatParam is a Lua number with a fraction, or too large for an int64.
type floatParam float64

func (p floatParam) Float64Value() (pgtype.Float8, error) {
	return pgtype.Float8{Float64: float64(p), Valid: true}, nil
}

func (p floatParam) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: strconv.FormatFloat(float64(p), 'g', -1, 64), Valid: true}, nil
}

// boolParam is a Lua boolean.
type boolParam bool

func (p boolParam) BoolValue() (pgtype.Bool, error) {
	return pgtype.Bool{Bool: bool(p), Valid: true}, nil
}

func (p boolParam) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: strconv.FormatBool(bool(p)), Valid: true}, nil
}

// byteString is a Lua string that the text format cannot carry as is into a
// bytea parameter: it has a NUL byte, a backslash (which bytea's text input
// would interpret) or is not UTF-8. A bytea parameter receives its bytes in
// the binary format (BytesValuer); json and jsonb take it as a string, and
// any other type as text. Other strings are plain Go strings, which pgx
// always sends as text: PostgreSQL parses them as the parameter's type, and
// bytea's text input keeps every byte of a string without backslashes.
type byteString string

func (s byteString) BytesValue() ([]byte, error) { return []byte(s), nil }

func (s byteString) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(s), Valid: true}, nil
}

// stringParam converts a Lua string.
func stringParam(s string) any {
	if strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return byteString(s)
	}
	return s
}

// numberParam converts a Lua number: integral values that fit are int64.
func numberParam(n lua.LNumber) any {
	if f := float64(n); isInt64(f) {
		return intParam(int64(f))
	}
	return floatParam(n)
}

// isInt64 reports whether f is integral and within the range of int64.
func isInt64(f float64) bool {
	return f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63
}

// args converts the Lua arguments from index from on into query
// parameters after lead, raising for values that cannot be parameters.
func args(L *lua.LState, from int, lead ...any) []any {
	n := max(L.GetTop()-from+1, 0)
	out := make([]any, len(lead)+n)
	copy(out, lead)
	for i := range n {
		out[len(lead)+i] = param(L, from+i)
	}
	return out
}

// param converts argument idx.
func param(L *lua.LState, idx int) any {
	switch v := L.Get(idx).(type) {
	case *lua.LNilType:
		return nil
	case lua.LBool:
		return boolParam(v)
	case lua.LNumber:
		return numberParam(v)
	case lua.LString:
		return stringParam(string(v))
	case *lua.LTable:
		if elems, ok := sequence(v); ok {
			return sliceParam(L, idx, elems)
		}
		js, err := luaconv.AppendJSONSandboxed(L, v)
		if err != nil {
			L.ArgError(idx, err.Error())
		}
		return stringParam(string(js))
	case *lua.LUserData:
		if v == luaconv.Null {
			return nil
		}
	}
	L.ArgError(idx, "unsupported parameter type "+L.Get(idx).Type().String())
	return nil
}

// sequence returns the elements of t if it is an array: keys exactly 1..n
// (n > 0), or no keys and the array mark (json.array()).
func sequence(t *lua.LTable) ([]lua.LValue, bool) {
	n, maxKey, ok := 0, 0, true
	t.ForEach(func(k, _ lua.LValue) {
		n++
		num, isNum := k.(lua.LNumber)
		if !isNum || num < 1 || float64(num) != math.Trunc(float64(num)) || num > lua.LNumber(math.MaxInt32) {
			ok = false
			return
		}
		maxKey = max(maxKey, int(num))
	})
	if !ok || maxKey != n || (n == 0 && !luaconv.IsArrayMarked(t)) {
		return nil, false
	}
	elems := make([]lua.LValue, n)
	for i := range elems {
		elems[i] = t.RawGetInt(i + 1)
	}
	return elems, true
}

// sliceParam converts the elements of an array parameter into a Go slice:
// []string, []int64, []float64 or []bool when they are all of one kind
// ([]*string... when some are db.null: NULL elements), else []any (db.null
// is nil, a table becomes JSON-like data via luaconv.ToGo, for json and
// jsonb elements or a json parameter). Typed slices are what pgx can also
// encode without knowing the parameter's type (simple protocol).
func sliceParam(L *lua.LState, idx int, elems []lua.LValue) any {
	strs, ints, nums, bools, nulls := true, true, true, true, false
	for _, e := range elems {
		if e == lua.LNil || luaconv.IsNull(e) {
			nulls = true
			continue
		}
		_, s := e.(lua.LString)
		n, isNum := e.(lua.LNumber)
		_, b := e.(lua.LBool)
		strs, nums, bools = strs && s, nums && isNum, bools && b
		ints = ints && isNum && isInt64(float64(n))
	}
	switch {
	case len(elems) == 0:
		return []any{}
	case strs:
		return typedSlice(elems, nulls, func(v lua.LValue) string { return string(v.(lua.LString)) })
	case ints:
		return typedSlice(elems, nulls, func(v lua.LValue) int64 { return int64(v.(lua.LNumber)) })
	case nums:
		return typedSlice(elems, nulls, func(v lua.LValue) float64 { return float64(v.(lua.LNumber)) })
	case bools:
		return typedSlice(elems, nulls, func(v lua.LValue) bool { return bool(v.(lua.LBool)) })
	}
	out := make([]any, len(elems))
	for i, e := range elems {
		v, err := luaconv.ToGo(e)
		if err != nil {
			L.ArgError(idx, "element "+strconv.Itoa(i+1)+": "+err.Error())
		}
		out[i] = v
	}
	return out
}

// typedSlice converts elems with conv into a []E, or into a []*E with nil
// for NULL elements when there are some.
func typedSlice[E any](elems []lua.LValue, nulls bool, conv func(lua.LValue) E) any {
	if !nulls {
		return convertAll(elems, conv)
	}
	out := make([]*E, len(elems))
	for i, e := range elems {
		if e != lua.LNil && !luaconv.IsNull(e) {
			v := conv(e)
			out[i] = &v
		}
	}
	return out
}

func convertAll[E any](elems []lua.LValue, conv func(lua.LValue) E) []E {
	out := make([]E, len(elems))
	for i, e := range elems {
		out[i] = conv(e)
	}
	return out
}
