package luaconv

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ToGo converts a Lua value into plain Go data, for copying across states or
// handing to Go code: nil and Null become nil, booleans bool, numbers int64
// when integral and within ±2^53 and float64 otherwise (NaN and ±Inf are kept
// as float64), strings string, arrays []any and objects map[string]any, by the
// same rules as AppendJSON. The result shares nothing with the Lua state.
// Non-data values, cycles and nesting deeper than MaxDepth are errors naming
// the path, as for AppendJSON.
func ToGo(v lua.LValue) (any, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return toGo(v, nil)
	}
	s := getScratch()
	defer s.release()
	return tableToGo(t, s)
}

// toGo converts v; s may be nil while no table has been seen.
func toGo(v lua.LValue, s *scratch) (any, error) {
	switch x := v.(type) {
	case nil, *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return goNumber(x), nil
	case lua.LString:
		return string(x), nil
	case *lua.LTable:
		return tableToGo(x, s)
	case *lua.LUserData:
		if x == Null {
			return nil, nil
		}
	}
	return nil, valueError(v)
}

// goNumber is int64 for integral numbers within ±2^53, float64 otherwise.
func goNumber(n lua.LNumber) any {
	f := float64(n)
	if f == math.Trunc(f) && f >= -maxSafeInt && f <= maxSafeInt {
		return int64(f)
	}
	return f
}

func tableToGo(t *lua.LTable, s *scratch) (any, error) {
	if err := s.enter(t); err != nil {
		return nil, err
	}
	base := len(s.pairs)
	defer s.leave(base)
	isArray, err := s.collect(t)
	if err != nil {
		return nil, err
	}
	end := len(s.pairs)
	if isArray {
		out := make([]any, end-base)
		for i := range out {
			if out[i], err = toGo(s.pairs[base+i].v, s); err != nil {
				return nil, wrapIndex(err, i+1)
			}
		}
		return out, nil
	}
	out := make(map[string]any, end-base)
	for i := base; i < end; i++ {
		key := s.pairs[i].key
		if out[key], err = toGo(s.pairs[i].v, s); err != nil {
			return nil, wrapKey(err, key)
		}
	}
	return out, nil
}

// FromGo converts Go data into Lua values allocated in L:
//
//   - nil (and lua.LNil) becomes lua.LNil at the top level and Null inside arrays and
//     objects (so arrays keep their length and keys their presence);
//   - bool, every int, uint and float kind, and json.Number (a malformed
//     json.Number stays a string) become booleans and numbers;
//   - string and []byte become strings, time.Time an RFC 3339 string with
//     nanoseconds;
//   - []any, []string, []int, []int64, []float64 and []map[string]any become
//     tables marked with MarkArray; map[string]any and map[string]string
//     become tables;
//   - Lua scalars (LBool, LNumber, LString, LNil) and Null are returned as
//     is: they are immutable, so sharing them is safe;
//   - any other type (Lua tables and functions included: they are never
//     shared between states) becomes the string fmt.Sprint(v).
//
// Containers nested deeper than MaxDepth become Null.
func FromGo(L *lua.LState, v any) lua.LValue {
	if v == nil || v == lua.LValue(lua.LNil) {
		return lua.LNil
	}
	return fromGo(L, v, 0)
}

func fromGo(L *lua.LState, v any, depth int) lua.LValue {
	switch x := v.(type) {
	case nil, *lua.LNilType:
		return Null
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []any:
		return fromSlice(L, x, depth, func(e any) any { return e })
	case map[string]any:
		if depth >= MaxDepth {
			return Null
		}
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, fromGo(L, e, depth+1))
		}
		return t
	case map[string]string:
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			t.RawSetString(k, lua.LString(e))
		}
		return t
	case []string:
		return fromSlice(L, x, depth, func(e string) any { return e })
	case []int:
		return fromSlice(L, x, depth, func(e int) any { return e })
	case []int64:
		return fromSlice(L, x, depth, func(e int64) any { return e })
	case []float64:
		return fromSlice(L, x, depth, func(e float64) any { return e })
	case []map[string]any:
		return fromSlice(L, x, depth, func(e map[string]any) any { return e })
	case []byte:
		return lua.LString(x)
	case time.Time:
		return lua.LString(x.Format(time.RFC3339Nano))
	case json.Number:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return lua.LNumber(f)
		}
		return lua.LString(x)
	case lua.LBool, lua.LNumber, lua.LString:
		return x.(lua.LValue)
	case *lua.LUserData:
		if x == Null {
			return Null
		}
	}
	return fromScalar(v)
}

// fromSlice converts a slice into a marked array, each element through elem
// and fromGo.
func fromSlice[E any](L *lua.LState, xs []E, depth int, elem func(E) any) lua.LValue {
	if depth >= MaxDepth {
		return Null
	}
	t := L.CreateTable(len(xs), 0)
	for i, e := range xs {
		t.RawSetInt(i+1, fromGo(L, elem(e), depth+1))
	}
	return MarkArray(t)
}

// fromScalar converts the remaining number kinds, or falls back to
// fmt.Sprint.
func fromScalar(v any) lua.LValue {
	switch x := v.(type) {
	case int8:
		return lua.LNumber(x)
	case int16:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case uint:
		return lua.LNumber(x)
	case uint8:
		return lua.LNumber(x)
	case uint16:
		return lua.LNumber(x)
	case uint32:
		return lua.LNumber(x)
	case uint64:
		return lua.LNumber(x)
	case uintptr:
		return lua.LNumber(x)
	case float32:
		return lua.LNumber(x)
	case interface{ Reveal() string }: // a config secret (internal/envref): plain to Lua, "***" to fmt
		return lua.LString(x.Reveal())
	}
	return lua.LString(fmt.Sprint(v))
}
