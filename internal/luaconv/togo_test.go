package luaconv

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func TestToGo(t *testing.T) {
	tests := []struct {
		name, lua string
		want      any
	}{
		{"nil", "return nil", nil},
		{"null", "return json_null", nil},
		{"bool", "return true", true},
		{"integer", "return 3", int64(3)},
		{"max safe", "return 2^53", int64(1 << 53)},
		{"beyond safe", "return 2^53 + 2", float64(1<<53 + 2)},
		{"float", "return 2.5", 2.5},
		{"string", "return 'x'", "x"},
		{"empty table", "return {}", map[string]any{}},
		{"marked empty", "return json_array()", []any{}},
		{"array", "return {1, 'a', json_null}", []any{int64(1), "a", nil}},
		{"object", "return {a = {b = {1}}, [2] = true}", map[string]any{"a": map[string]any{"b": []any{int64(1)}}, "2": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newState(t)
			got, err := ToGo(eval(t, L, tt.lua))
			if err != nil {
				t.Fatalf("ToGo: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ToGo = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestToGo_errors(t *testing.T) {
	tests := []struct {
		name, lua, want string
	}{
		{"function", "return {a = {print}}", "cannot encode function at $.a[1]"},
		{"cycle", "local t = {}; t[1] = t; return t", "cannot encode cyclic table at $[1]"},
		{"too deep", nested(201), "nesting deeper than 200 at $" + strings.Repeat("[1]", 200)},
		{"bool key", "return {[false] = 1}", "cannot encode table key of type boolean at $"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newState(t)
			_, err := ToGo(eval(t, L, tt.lua))
			if err == nil || err.Error() != tt.want {
				t.Errorf("ToGo error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestToGo_nonFinite(t *testing.T) {
	got, err := ToGo(lua.LNumber(math.Inf(1)))
	if err != nil || got != math.Inf(1) {
		t.Errorf("ToGo(+Inf) = %v, %v", got, err)
	}
}

func TestFromGo(t *testing.T) {
	when := time.Date(2026, 11, 26, 12, 0, 0, 5, time.UTC)
	tests := []struct {
		name string
		in   any
		want string // AppendJSON of the result
	}{
		{"nil", nil, `null`},
		{"bool", true, `true`},
		{"int", 7, `7`},
		{"int8", int8(-8), `-8`},
		{"uint64", uint64(64), `64`},
		{"float32", float32(0.5), `0.5`},
		{"string", "s", `"s"`},
		{"bytes", []byte("b"), `"b"`},
		{"json number", json.Number("12.5"), `12.5`},
		{"bad json number", json.Number("x"), `"x"`},
		{"time", when, `"2026-11-26T12:00:00.000000005Z"`},
		{"slice any", []any{1, nil, "a"}, `[1,null,"a"]`},
		{"empty slice", []any{}, `[]`},
		{"strings", []string{"a", "b"}, `["a","b"]`},
		{"ints", []int{1, 2}, `[1,2]`},
		{"floats", []float64{0.5}, `[0.5]`},
		{"maps", []map[string]any{{"a": 1}}, `[{"a":1}]`},
		{"map", map[string]any{"b": map[string]any{"c": nil}, "a": []any{}}, `{"a":[],"b":{"c":null}}`},
		{"string map", map[string]string{"k": "v"}, `{"k":"v"}`},
		{"lua scalar", lua.LNumber(3), `3`},
		{"null", Null, `null`},
		{"unknown", struct{ A int }{1}, `"{1}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newState(t)
			got, err := AppendJSON(nil, FromGo(L, tt.in))
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("FromGo then AppendJSON = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFromGo_topLevelNil(t *testing.T) {
	L := newState(t)
	if FromGo(L, nil) != lua.LNil || FromGo(L, lua.LNil) != lua.LNil {
		t.Error("top-level nil is not LNil")
	}
}

func TestFromGo_tooDeep(t *testing.T) {
	L := newState(t)
	var v any = []any{}
	for range MaxDepth + 5 {
		v = []any{v}
	}
	out, err := AppendJSON(nil, FromGo(L, v))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("[", MaxDepth) + "null" + strings.Repeat("]", MaxDepth); string(out) != want {
		t.Errorf("got %s", out)
	}
}

// Go data survives a trip through Lua unchanged (with numbers normalised).
func TestRoundTrip_Go(t *testing.T) {
	in := map[string]any{
		"s": "x", "n": int64(3), "f": 0.25, "b": false, "null": nil,
		"list": []any{int64(1), map[string]any{"k": []any{}}},
	}
	L := newState(t)
	out, err := ToGo(FromGo(L, in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip = %#v, want %#v", out, in)
	}
}

type revealed struct{ v string }

func (r revealed) Reveal() string { return r.v }
func (r revealed) String() string { return "***" }

// A config secret reaches Lua as its value, not as its fmt form.
func TestFromGo_secret(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	v := FromGo(L, map[string]any{"pw": revealed{"hunter2"}})
	if got := v.(*lua.LTable).RawGetString("pw"); got != lua.LString("hunter2") {
		t.Errorf("secret = %v", got)
	}
}
