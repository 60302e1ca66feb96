package shared_test

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/stdlib/shared"
)

// The engine makes one store and binds each plugin generation to its
// plugin's bucket; Go code sees what Lua stored.
func Example() {
	store := shared.NewStore(nil)
	factory := func(p hostapi.Plugin) hostapi.Module { return shared.New(store.Bucket(p.Name)) }

	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("vbwd.shared", factory(hostapi.Plugin{Name: "tarot"}).Loader)
	if err := L.DoString(`
		local shared = require("vbwd.shared")
		shared.incr("draws")
		shared.incr("draws")
		shared.set("last", { card = "The Fool" }, 60)
	`); err != nil {
		panic(err)
	}
	draws, _ := store.Bucket("tarot").Get("draws")
	last, _ := store.Bucket("tarot").Get("last")
	fmt.Println(draws, last)
	// Output: 2 map[card:The Fool]
}
