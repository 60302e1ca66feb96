package luaconv

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // the value re-encoded with AppendJSON
	}{
		{"null", `null`, `null`},
		{"true", ` true `, `true`},
		{"false", "\n\tfalse\r\n", `false`},
		{"zero", `0`, `0`},
		{"negative", `-12`, `-12`},
		{"fraction", `3.25`, `3.25`},
		{"exponent", `1E3`, `1000`},
		{"negative exponent", `25e-1`, `2.5`},
		{"big integer", `123456789012345678`, `123456789012345680`},
		{"string", `"hi"`, `"hi"`},
		{"escapes", `"a\"\\\/\b\f\n\r\t\u00e9"`, `"a\"\\/\u0008\u000c\n\r\té"`},
		{"surrogate pair", `"\ud83d\ude00"`, `"😀"`},
		{"lone surrogate", `"\ud83dx"`, "\"\ufffdx\""},
		{"utf8", `"héllo ✓"`, `"héllo ✓"`},
		{"invalid utf8", "\"a\xffb\"", "\"a\ufffdb\""},
		{"empty array", `[]`, `[]`},
		{"empty object", `{}`, `{}`},
		{"array", `[1, "a", null, true, [], {}]`, `[1,"a",null,true,[],{}]`},
		{"object", `{"b": 1, "a": {"c": [1, 2]}}`, `{"a":{"c":[1,2]},"b":1}`},
		{"null member kept", `{"a": null}`, `{"a":null}`},
		{"duplicate keys", `{"a": 1, "a": 2}`, `{"a":2}`},
		{"empty key", `{"": 1}`, `{"":1}`},
		{"depth 200", strings.Repeat("[", 200) + strings.Repeat("]", 200), strings.Repeat("[", 200) + strings.Repeat("]", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newState(t)
			v, err := DecodeJSON(L, []byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			got, err := AppendJSON(nil, v)
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("round trip = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecodeJSON_values(t *testing.T) {
	L := newState(t)
	v, err := DecodeJSON(L, []byte(`{"list": [1, null], "empty": [], "n": 1.5}`))
	if err != nil {
		t.Fatal(err)
	}
	obj := v.(*lua.LTable)
	if IsArrayMarked(obj) {
		t.Error("object marked as array")
	}
	list := obj.RawGetString("list").(*lua.LTable)
	if !IsArrayMarked(list) || list.RawGetInt(1) != lua.LNumber(1) || !IsNull(list.RawGetInt(2)) {
		t.Errorf("list decoded wrong: %v", list)
	}
	if !IsArrayMarked(obj.RawGetString("empty").(*lua.LTable)) {
		t.Error("empty array not marked")
	}
	if obj.RawGetString("n") != lua.LNumber(1.5) {
		t.Errorf("n = %v", obj.RawGetString("n"))
	}
}

func TestDecodeJSON_errors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "invalid json at offset 0: unexpected end of input, expected a value"},
		{"space only", `   `, "invalid json at offset 3: unexpected end of input, expected a value"},
		{"trailing", `{} x`, "invalid json at offset 3: unexpected data after the value"},
		{"two values", `1 2`, "invalid json at offset 2: unexpected data after the value"},
		{"bad literal", `nul`, "invalid json at offset 0: invalid literal, expected null"},
		{"bad char", `{"a": x}`, "invalid json at offset 6: unexpected 'x', expected a value"},
		{"missing colon", `{"a" 1}`, "invalid json at offset 5: unexpected '1', expected ':' after object key"},
		{"unquoted key", `{a: 1}`, "invalid json at offset 1: unexpected 'a', expected an object key"},
		{"trailing comma object", `{"a": 1,}`, "invalid json at offset 8: unexpected '}', expected an object key"},
		{"trailing comma array", `[1,]`, "invalid json at offset 3: unexpected ']', expected a value"},
		{"unclosed array", `[1`, "invalid json at offset 2: unexpected end of input, expected ',' or ']' in array"},
		{"unclosed object", `{"a": 1`, "invalid json at offset 7: unexpected end of input, expected ',' or '}' in object"},
		{"unterminated string", `"abc`, "invalid json at offset 4: unterminated string"},
		{"control char", "\"a\nb\"", "invalid json at offset 2: control character in string"},
		{"bad escape", `"\x"`, `invalid json at offset 1: invalid escape character 'x'`},
		{"bad unicode", `"\u12g4"`, `invalid json at offset 1: invalid \u escape`},
		{"leading zero", `012`, "invalid json at offset 0: leading zero in number"},
		{"lone minus", `-`, "invalid json at offset 1: unexpected end of input, expected a digit"},
		{"bare fraction", `1.`, "invalid json at offset 2: unexpected end of input, expected a digit after the decimal point"},
		{"bad exponent", `1e+`, "invalid json at offset 3: unexpected end of input, expected a digit in the exponent"},
		{"out of range", `[1e400]`, "invalid json at offset 1: number out of range"},
		{"too deep", strings.Repeat("[", 201), "invalid json at offset 200: nesting deeper than 200"},
		{"plus sign", `+1`, "invalid json at offset 0: unexpected '+', expected a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			L := newState(t)
			v, err := DecodeJSON(L, []byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("DecodeJSON error = %v, want %q", err, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) || v != lua.LNil {
				t.Errorf("want *SyntaxError and LNil, got %T, %v", err, v)
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `{"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"}`, `[1.5e10,-0,true,false]`,
		`"\ud800"`, `{"":{}}`, "\"\xff\"", `[[[[]]]]`, `1e400`, `{"a" 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		defer L.Close()
		v, err := DecodeJSON(L, data)
		if err != nil {
			msg := err.Error()
			if json.Valid(data) && !strings.Contains(msg, "nesting deeper") && !strings.Contains(msg, "out of range") {
				t.Fatalf("valid JSON %q refused: %v", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("invalid JSON %q accepted", data)
		}
		out, err := AppendJSON(nil, v)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", data, err)
		}
		// Encoding is canonical: decoding and encoding again is stable.
		v2, err := DecodeJSON(L, out)
		if err != nil {
			t.Fatalf("decoding own output %q: %v", out, err)
		}
		out2, err := AppendJSON(nil, v2)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("not stable: %s then %s (%v)", out, out2, err)
		}
	})
}
