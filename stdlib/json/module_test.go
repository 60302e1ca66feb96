package json

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

func TestLua(t *testing.T) {
	luatest.Run(t, "testdata", New())
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(), "array", "decode", "empty_object", "encode", "is_array", "null", "pretty")
}

// json.null is the luaconv sentinel, so Go code sees it as null.
func TestNullIsLuaconvNull(t *testing.T) {
	L := luatest.NewState(t, New())
	if err := L.DoString(`return require("vbwd.json").null`); err != nil {
		t.Fatal(err)
	}
	if !luaconv.IsNull(L.Get(-1)) || L.Get(-1) != lua.LValue(luaconv.Null) {
		t.Error("json.null is not luaconv.Null")
	}
}
