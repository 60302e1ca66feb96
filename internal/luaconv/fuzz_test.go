package luaconv

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// FuzzGoRoundTrip: JSON data decoded by encoding/json, converted to Lua
// with FromGo and back with ToGo, is what it was (numbers compared as
// float64).
func FuzzGoRoundTrip(f *testing.F) {
	for _, s := range []string{`null`, `{"a":[1,2.5,{"b":null}],"c":"\u00e9"}`, `[[],{},""]`, `{"1":"one","x":[true,false]}`,
		`9007199254740993`, `[1e308,-0,5e-324]`, `{"":{"":{"":[]}}}`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil || jsonDepth(v) >= MaxDepth {
			return
		}
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		defer L.Close()
		g, err := ToGo(FromGo(L, v))
		if err != nil {
			t.Fatalf("ToGo(FromGo(%s)): %v", data, err)
		}
		if want, got := normalize(v, false), normalize(g, false); !reflect.DeepEqual(want, got) {
			t.Fatalf("round trip of %s:\n got %#v\nwant %#v", data, got, want)
		}
	})
}

// FuzzLuaToJSON builds a Lua value from the fuzzed bytes (tables, arrays,
// cycles, odd keys, NaN, functions) and converts it both ways Lua goes to
// Go: AppendJSON and ToGo accept the same values (but for non-finite
// numbers, which only ToGo keeps); what they produce agrees; the JSON is
// valid, and decoding and encoding it again gives the same bytes.
func FuzzLuaToJSON(f *testing.F) {
	for _, s := range [][]byte{
		{4, 3, 1, 'a', 1, 5},
		{4, 1, 6, 1, 6},
		{4, 9},
		{4, 8},
		{4, 4, 1, 6, 6, 8},
		{4, 2, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f, 1, 5},
		{4, 3, 1, 'x', 2, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 5},
		{4, 3, 1, '1', 1, 5, 2, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 1, 5},
		{4, 3, 1, 'f', 10, 5},
		{4, 3, 2, 0xff, 'a', 7, 5},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		defer L.Close()
		v := build(L, prog)
		out, err := AppendJSON(nil, v)
		g, gerr := ToGo(v)
		if err != nil {
			if gerr == nil && !strings.Contains(err.Error(), "cannot encode number") {
				t.Fatalf("AppendJSON refuses what ToGo accepts (%#v): %v", g, err)
			}
			return
		}
		if gerr != nil {
			t.Fatalf("ToGo refuses what AppendJSON encodes as %s: %v", out, gerr)
		}
		if !json.Valid(out) {
			t.Fatalf("AppendJSON wrote invalid JSON %q", out)
		}
		var back any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if want, got := normalize(g, true), normalize(back, false); !reflect.DeepEqual(want, got) {
			t.Fatalf("AppendJSON wrote %s, ToGo gave %#v", out, g)
		}
		// Decoding and encoding again means the same; from then on it is the
		// same bytes (an invalid UTF-8 byte is written as \ufffd the first
		// time, the decoded U+FFFD as itself the next).
		out2 := reencode(t, L, out)
		var back2 any
		if err := json.Unmarshal(out2, &back2); err != nil || !reflect.DeepEqual(back, back2) {
			t.Fatalf("%s re-encodes as %s (%v)", out, out2, err)
		}
		if out3 := reencode(t, L, out2); string(out3) != string(out2) {
			t.Fatalf("not stable: %s then %s", out2, out3)
		}
	})
}

func reencode(t *testing.T, L *lua.LState, data []byte) []byte {
	t.Helper()
	v, err := DecodeJSON(L, data)
	if err != nil {
		t.Fatalf("decoding own output %s: %v", data, err)
	}
	out, err := AppendJSON(nil, v)
	if err != nil {
		t.Fatalf("re-encoding %s: %v", data, err)
	}
	return out
}

// build runs a tiny stack program: each byte is an operation (see the
// seeds of FuzzLuaToJSON); it returns the bottom of the stack.
func build(L *lua.LState, prog []byte) lua.LValue {
	var stack []lua.LValue
	pop := func() lua.LValue {
		if len(stack) == 0 {
			return lua.LNil
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v
	}
	top := func() *lua.LTable {
		if len(stack) == 0 {
			return nil
		}
		t, _ := stack[len(stack)-1].(*lua.LTable)
		return t
	}
	for i := 0; i < len(prog) && len(stack) < 64; i++ {
		switch prog[i] % 11 {
		case 0:
			stack = append(stack, lua.LNil)
		case 1:
			stack = append(stack, lua.LBool(prog[i] > 128))
		case 2: // a number from the next 8 bytes (NaN and Inf included)
			var b [8]byte
			i += copy(b[:], prog[min(i+1, len(prog)):])
			stack = append(stack, lua.LNumber(math.Float64frombits(binary.LittleEndian.Uint64(b[:]))))
		case 3: // a string of the next n bytes
			n := 0
			if i+1 < len(prog) {
				n = int(prog[i+1] % 16)
				i++
			}
			end := min(i+1+n, len(prog))
			stack = append(stack, lua.LString(prog[i+1:end]))
			i = end - 1
		case 4:
			stack = append(stack, L.NewTable())
		case 5: // t[k] = v
			v, k := pop(), pop()
			if t := top(); t != nil && k != lua.LNil {
				if n, ok := k.(lua.LNumber); !ok || !math.IsNaN(float64(n)) {
					t.RawSet(k, v)
				}
			}
		case 6: // t[#t+1] = v
			if v := pop(); top() != nil && v != lua.LNil {
				top().Append(v)
			}
		case 7:
			stack = append(stack, Null)
		case 8:
			if t := top(); t != nil {
				MarkArray(t)
			}
		case 9:
			if t := top(); t != nil {
				t.RawSetString("self", t)
			}
		case 10:
			stack = append(stack, L.NewFunction(func(*lua.LState) int { return 0 }))
		}
	}
	if len(stack) == 0 {
		return lua.LNil
	}
	return stack[0]
}

// normalize makes numbers float64 and, when fixUTF8, strings (and keys)
// valid UTF-8 the way AppendJSON writes them.
func normalize(v any, fixUTF8 bool) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case string:
		if fixUTF8 {
			return validUTF8(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e, fixUTF8)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if fixUTF8 {
				k = validUTF8(k)
			}
			out[k] = normalize(e, fixUTF8)
		}
		return out
	}
	return v
}

func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

func jsonDepth(v any) int {
	d := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}
