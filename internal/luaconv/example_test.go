package luaconv_test

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

func ExampleAppendJSON() {
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString(`return {name = "tarot", cards = {"The Fool", "The Magician"}, extra = {}}`); err != nil {
		panic(err)
	}
	out, err := luaconv.AppendJSON(nil, L.Get(-1))
	fmt.Println(string(out), err)
	// Output: {"cards":["The Fool","The Magician"],"extra":{},"name":"tarot"} <nil>
}

func ExampleDecodeJSON() {
	L := lua.NewState()
	defer L.Close()
	v, err := luaconv.DecodeJSON(L, []byte(`{"tags": [], "n": 1}`))
	if err != nil {
		panic(err)
	}
	// The empty array stays an array.
	out, _ := luaconv.AppendJSON(nil, v)
	fmt.Println(string(out))
	_, err = luaconv.DecodeJSON(L, []byte(`{"n": 1,}`))
	fmt.Println(err)
	// Output:
	// {"n":1,"tags":[]}
	// invalid json at offset 8: unexpected '}', expected an object key
}
