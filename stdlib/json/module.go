package json

import (
	"bytes"
	stdjson "encoding/json"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// Module is the vbwd.json module. It has no dependencies and no state.
type Module struct{}

// New returns the module.
func New() *Module { return &Module{} }

// Name returns "json".
func (m *Module) Name() string { return "json" }

// Loader pushes the module table: the functions of exports and the json.null
// sentinel.
func (m *Module) Loader(L *lua.LState) int {
	t := L.SetFuncs(L.CreateTable(0, 6), m.exports())
	t.RawSetString("null", luaconv.Null)
	L.Push(t)
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"encode": m.encode,
		"decode": m.decode,
		"array":  m.array,
		"pretty": m.pretty,
		"empty_object": func(L *lua.LState) int {
			L.Push(luaconv.MarkObject(L.CreateTable(0, 0)))
			return 1
		},
		"is_array": m.isArray,
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "encode", Sig: "encode(v: any): string?, string?", Doc: "encode v as compact JSON with sorted object keys, or return nil and an error naming the path of the value that cannot be encoded"},
		{Name: "decode", Sig: "decode(s: string): any, string?", Doc: "decode one JSON value; arrays come back marked, null as json.null; on bad input return nil and an error with the byte offset"},
		{Name: "array", Sig: "array(t?: table): table", Doc: "mark t (or a new empty table) as a JSON array, so that it encodes as [] when empty, and return it"},
		{Name: "empty_object", Sig: "empty_object(): table", Doc: "a new table marked as a JSON object: it encodes as {} when empty and as an object whatever its keys"},
		{Name: "is_array", Sig: "is_array(v: any): boolean", Doc: "whether v encodes as a JSON array: a decoded array, a json.array table, or a non-empty sequence; false for objects, plain empty tables (they encode as {}) and non-tables"},
		{Name: "pretty", Sig: "pretty(v: any): string?, string?", Doc: "encode v as JSON indented by two spaces, or return nil and an error"},
		{Name: "null", Sig: "null: userdata", Doc: "the JSON null sentinel, distinct from nil; encodes as null"},
	}
}

// encode implements json.encode(v) -> string | nil, err.
func (m *Module) encode(L *lua.LState) int {
	out, err := encodeLimited(L, L.CheckAny(1))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(out))
	return 1
}

// decode implements json.decode(s) -> value | nil, err.
func (m *Module) decode(L *lua.LState) int {
	v, err := luaconv.DecodeJSON(L, []byte(L.CheckString(1)))
	if err != nil {
		return fail(L, err)
	}
	L.Push(v)
	return 1
}

// array implements json.array(t?) -> t. A table that already has another
// metatable is refused rather than silently losing it.
func (m *Module) array(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		L.Push(luaconv.MarkArray(L.CreateTable(0, 0)))
		return 1
	}
	t := L.CheckTable(1)
	if t.Metatable != lua.LNil && !luaconv.IsArrayMarked(t) {
		L.ArgError(1, "table already has a metatable")
	}
	L.Push(luaconv.MarkArray(t))
	return 1
}

// isArray implements json.is_array(v): what encode would make of v.
func (m *Module) isArray(L *lua.LState) int {
	t, ok := L.Get(1).(*lua.LTable)
	if !ok || luaconv.IsObjectMarked(t) {
		L.Push(lua.LFalse)
		return 1
	}
	if luaconv.IsArrayMarked(t) {
		L.Push(lua.LTrue)
		return 1
	}
	n := t.Len()
	seq := n > 0
	if seq {
		count := 0
		t.ForEach(func(lua.LValue, lua.LValue) { count++ })
		seq = count == n && t.RawGetInt(n) != lua.LNil
	}
	L.Push(lua.LBool(seq))
	return 1
}

// pretty implements json.pretty(v) -> string | nil, err.
func (m *Module) pretty(L *lua.LState) int {
	compact, err := encodeLimited(L, L.CheckAny(1))
	if err != nil {
		return fail(L, err)
	}
	var out bytes.Buffer
	out.Grow(len(compact) * 2)
	if err := stdjson.Indent(&out, compact, "", "  "); err != nil {
		return fail(L, err)
	}
	if l := L.G.Limits; l != nil && l.MaxString > 0 && out.Len() > l.MaxString {
		return fail(L, &luaconv.TooLargeError{Max: l.MaxString})
	}
	L.Push(lua.LString(out.String()))
	return 1
}

// encodeLimited is luaconv.AppendJSONSandboxed (json.encode's own rules,
// shared with the host modules that send JSON out).
func encodeLimited(L *lua.LState, v lua.LValue) ([]byte, error) {
	return luaconv.AppendJSONSandboxed(L, v)
}

// fail pushes the runtime-failure results nil, err.
func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}

var _ hostapi.Documented = (*Module)(nil)
