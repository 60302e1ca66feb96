package luaconv

import lua "github.com/yuin/gopher-lua"

// MaxDepth is the deepest nesting of tables (or JSON arrays and objects) the
// conversions accept.
const MaxDepth = 200

// nullValue is the Go value held by the Null userdata.
type nullValue struct{}

// Null is the json.null sentinel: one immutable *lua.LUserData shared by all
// states (compare by pointer, or with IsNull). Its metatable is protected and
// gives it tostring "null". It is written once at package initialisation and
// only read afterwards, so sharing it across states is race free.
var Null = &lua.LUserData{Value: nullValue{}, Metatable: nullMetatable()}

// arrayMeta is the shared, protected metatable that marks a table as a JSON
// array. Lua code cannot reach it: getmetatable returns its __metatable
// string, and setmetatable refuses to replace it.
var arrayMeta = protectedMetatable("json.array")

// objectMeta marks a table as a JSON object (json.empty_object): it encodes
// as {} when empty and as an object whatever its keys.
var objectMeta = protectedMetatable("json.object")

func protectedMetatable(name string) *lua.LTable {
	mt := &lua.LTable{Metatable: lua.LNil}
	mt.RawSetString("__metatable", lua.LString(name))
	return mt
}

func nullMetatable() *lua.LTable {
	mt := protectedMetatable("json.null")
	// The function is built by hand rather than with L.NewFunction, which
	// would tie it to one state's globals. It is unreachable from Lua (the
	// metatable is protected), so nobody can change its environment.
	tostring := func(L *lua.LState) int {
		L.Push(lua.LString("null"))
		return 1
	}
	mt.RawSetString("__tostring", &lua.LFunction{
		IsG:       true,
		Env:       &lua.LTable{Metatable: lua.LNil},
		GFunction: tostring,
	})
	return mt
}

// IsNull reports whether v is the Null sentinel.
func IsNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	return ok && ud == Null
}

// MarkArray gives t a shared, protected metatable (with __metatable set, so
// Lua code can neither read nor change it) marking it as a JSON array, so an
// empty table encodes as [] rather than {}. Any previous metatable of t is
// replaced. It returns t.
func MarkArray(t *lua.LTable) *lua.LTable {
	t.Metatable = arrayMeta
	return t
}

// IsArrayMarked reports whether t carries the array marker.
func IsArrayMarked(t *lua.LTable) bool {
	mt, ok := t.Metatable.(*lua.LTable)
	return ok && mt == arrayMeta
}

// MarkObject gives t the shared, protected metatable marking it as a JSON
// object, replacing any previous metatable, and returns t.
func MarkObject(t *lua.LTable) *lua.LTable {
	t.Metatable = objectMeta
	return t
}

// IsObjectMarked reports whether t carries the object marker.
func IsObjectMarked(t *lua.LTable) bool {
	mt, ok := t.Metatable.(*lua.LTable)
	return ok && mt == objectMeta
}
