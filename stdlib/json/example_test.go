package json_test

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/stdlib/json"
)

func Example() {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("vbwd.json", json.New().Loader)
	err := L.DoString(`
		local json = require("vbwd.json")
		print(json.encode({ name = "tarot", tags = json.array() }))
		print(json.decode('{"a": [1, null]}').a[2] == json.null)
		print(json.decode("{oops}"))
	`)
	fmt.Println(err)
	// Output:
	// {"name":"tarot","tags":[]}
	// true
	// nil	invalid json at offset 1: unexpected 'o', expected an object key
	// <nil>
}
