package luaconv

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// eval runs a Lua chunk that returns one value. The chunk sees json_null and
// json_array(t) as globals.
func eval(t testing.TB, L *lua.LState, chunk string) lua.LValue {
	t.Helper()
	if err := L.DoString(chunk); err != nil {
		t.Fatalf("lua: %v", err)
	}
	v := L.Get(-1)
	L.Pop(1)
	return v
}

func newState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	L.SetGlobal("json_null", Null)
	L.SetGlobal("json_array", L.NewFunction(func(L *lua.LState) int {
		L.Push(MarkArray(L.OptTable(1, L.CreateTable(0, 0))))
		return 1
	}))
	return L
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name, lua, want string
	}{
		{"nil", "return nil", `null`},
		{"null", "return json_null", `null`},
		{"true", "return true", `true`},
		{"false", "return false", `false`},
		{"integer", "return 42", `42`},
		{"negative", "return -7", `-7`},
		{"negative zero", "return -0.0", `0`},
		{"fraction", "return 1.5", `1.5`},
		{"tenth", "return 0.1", `0.1`},
		{"max safe", "return 2^53", `9007199254740992`},
		{"min safe", "return -2^53", `-9007199254740992`},
		{"beyond safe", "return 2^53 + 2", `9007199254740994`},
		{"large", "return 1e21", `1e+21`},
		{"small", "return 1e-7", `1e-7`},
		{"string", `return "hello"`, `"hello"`},
		{"empty string", `return ""`, `""`},
		{"escapes", `return "a\"b\\c\n\t\r\1/"`, `"a\"b\\c\n\t\r\u0001/"`},
		{"unicode", `return "héllo ✓"`, `"héllo ✓"`},
		{"invalid utf8", `return "a\255b"`, `"a\ufffdb"`},
		{"line separator", `return "a\226\128\168b"`, `"a\u2028b"`},
		{"empty table", "return {}", `{}`},
		{"marked empty", "return json_array()", `[]`},
		{"marked array", "return json_array({1, 2})", `[1,2]`},
		{"array", "return {1, 'two', true}", `[1,"two",true]`},
		{"array with null", "return {1, json_null, 3}", `[1,null,3]`},
		{"sparse is object", "return {[1] = 'a', [3] = 'c'}", `{"1":"a","3":"c"}`},
		{"mixed is object", "return {10, x = 2}", `{"1":10,"x":2}`},
		{"zero key is object", "return {[0] = 'z', [1] = 'a'}", `{"0":"z","1":"a"}`},
		{"float key", "return {[1.5] = 1}", `{"1.5":1}`},
		{"sorted keys", "return {b = 1, a = 2, c = {z = 1, y = 2}}", `{"a":2,"b":1,"c":{"y":2,"z":1}}`},
		{"nested", "return {user = {id = 1, roles = {'a', 'b'}}, tags = json_array()}", `{"tags":[],"user":{"id":1,"roles":["a","b"]}}`},
		{"array of objects", "return {{a = 1}, {b = 2}}", `[{"a":1},{"b":2}]`},
		{"shared not cyclic", "local x = {1}; return {a = x, b = x}", `{"a":[1],"b":[1]}`},
		{"metatable ignored", "return setmetatable({a = 1}, {__index = function() return 2 end})", `{"a":1}`},
		{"deleted keys", "local t = {a = 1, b = 2, c = 3}; t.a = nil; t.c = nil; return t", `{"b":2}`},
		{"all deleted", "local t = {a = 1}; t.a = nil; return t", `{}`},
		{"popped array", "local t = {1, 2, 3}; t[3] = nil; return t", `[1,2]`},
		{"array and hash", "local t = {1, 2}; t.x = 'y'; t[0] = 0; return t", `{"0":0,"1":1,"2":2,"x":"y"}`},
		{"negative key", "return {[-1] = 'n'}", `{"-1":"n"}`},
		{"huge integer key", "return {[2^40] = 1}", `{"1099511627776":1}`},
		{"depth 200", nested(200), strings.Repeat("[", 200) + strings.Repeat("]", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newState(t)
			got, err := AppendJSON(nil, eval(t, L, tt.lua))
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("AppendJSON = %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("output is not valid JSON: %s", got)
			}
		})
	}
}

// nested returns a chunk building n nested marked empty arrays.
func nested(n int) string {
	return "local t = json_array(); for i = 2, " + strconv.Itoa(n) +
		" do t = json_array({t}) end; return t"
}

// Objects with many keys take the general sort; the order is the same.
func TestAppendJSON_manyKeys(t *testing.T) {
	L := newState(t)
	v := eval(t, L, `local t = {}; for i = 30, 1, -1 do t[string.format("k%02d", i)] = i end; return t`)
	got, err := AppendJSON(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("{")
	for i := 1; i <= 30; i++ {
		if i > 1 {
			want.WriteString(",")
		}
		fmt.Fprintf(&want, `"k%02d":%d`, i, i)
	}
	want.WriteString("}")
	if string(got) != want.String() {
		t.Errorf("AppendJSON = %s", got)
	}
}

func TestAppendJSON_errors(t *testing.T) {
	tests := []struct {
		name, lua, want string
	}{
		{"function", "return {user = {cb = print}}", "cannot encode function at $.user.cb"},
		{"top function", "return print", "cannot encode function at $"},
		{"thread in array", "return {1, coroutine.create(print)}", "cannot encode thread at $[2]"},
		{"odd key path", `return {["a b"] = {print}}`, `cannot encode function at $["a b"][1]`},
		{"cycle", "local t = {}; t.self = t; return t", "cannot encode cyclic table at $.self"},
		{"deep cycle", "local t = {a = {}}; t.a.b = {t}; return t", "cannot encode cyclic table at $.a.b[1]"},
		{"too deep", nested(201), "nesting deeper than 200 at $" + strings.Repeat("[1]", 200)},
		{"nan", "return {x = 0/0}", "cannot encode number NaN at $.x"},
		{"inf", "return {1/0}", "cannot encode number +Inf at $[1]"},
		{"bool key", "return {[true] = 1}", "cannot encode table key of type boolean at $"},
		{"table key", "return {[{}] = 1}", "cannot encode table key of type table at $"},
		{"duplicate key", `return {[1] = "a", ["1"] = "b"}`, `duplicate object key "1" at $["1"]`},
		{"marked with keys", "local t = json_array(); t.x = 1; return t", "cannot encode table marked as array with non-sequential keys at $"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newState(t)
			_, err := AppendJSON(nil, eval(t, L, tt.lua))
			if err == nil || err.Error() != tt.want {
				t.Errorf("AppendJSON error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAppendJSON_userdata(t *testing.T) {
	L := newState(t)
	tb := L.NewTable()
	tb.RawSetString("u", L.NewUserData())
	_, err := AppendJSON(nil, tb)
	if err == nil || err.Error() != "cannot encode userdata at $.u" {
		t.Errorf("error = %v", err)
	}
}

// Integer keys stored in the hash part (possible from Go) still make an
// array, in index order.
func TestAppendJSON_hashIntegerKeys(t *testing.T) {
	tb := &lua.LTable{Metatable: lua.LNil}
	tb.RawSetH(lua.LNumber(3), lua.LString("c"))
	tb.RawSetH(lua.LNumber(1), lua.LString("a"))
	tb.RawSetH(lua.LNumber(2), lua.LString("b"))
	got, err := AppendJSON(nil, tb)
	if err != nil || string(got) != `["a","b","c"]` {
		t.Errorf("AppendJSON = %s, %v", got, err)
	}
	tb.RawSetString("x", lua.LTrue)
	tb.RawSetInt(5, lua.LString("array part"))
	got, err = AppendJSON(nil, tb)
	if want := `{"1":"a","2":"b","3":"c","5":"array part","x":true}`; err != nil || string(got) != want {
		t.Errorf("AppendJSON = %s, %v, want %s", got, err, want)
	}
}

func TestAppendJSON_appends(t *testing.T) {
	L := newState(t)
	got, err := AppendJSON([]byte("x="), eval(t, L, "return {1}"))
	if err != nil || string(got) != "x=[1]" {
		t.Errorf("AppendJSON = %q, %v", got, err)
	}
}

// The encoder agrees with encoding/json on strings.
func TestAppendJSON_stringsMatchEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "\x00\x1f\x7f", "<&>", "é✓😀", "\u2028\u2029", "tab\there"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("appendString(%q) = %s, decodes to %q, %v", s, got, back, err)
		}
	}
}

func TestNull(t *testing.T) {
	L := newState(t)
	if !IsNull(Null) || IsNull(lua.LNil) || IsNull(L.NewUserData()) {
		t.Fatal("IsNull is wrong")
	}
	got := eval(t, L, `
		local mt = getmetatable(json_null)
		local ok = pcall(setmetatable, json_array(), {})
		return tostring(json_null) .. " " .. tostring(mt) .. " " .. tostring(ok) .. " " .. tostring(getmetatable(json_array()))`)
	if want := "null json.null false json.array"; got.String() != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMarkArray(t *testing.T) {
	tb := &lua.LTable{Metatable: lua.LNil}
	if IsArrayMarked(tb) {
		t.Fatal("unmarked table reported marked")
	}
	if MarkArray(tb) != tb || !IsArrayMarked(tb) {
		t.Fatal("MarkArray did not mark")
	}
}

// FuzzAppendString checks string escaping against encoding/json: the output
// decodes to the input with each invalid UTF-8 byte replaced by U+FFFD.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\u2028", "é\xff😀", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", s, out, err)
		}
		var want strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r) // RuneError for an invalid byte
			i += size
		}
		if back != want.String() {
			t.Fatalf("appendString(%q) decodes to %q, want %q", s, back, want.String())
		}
	})
}
