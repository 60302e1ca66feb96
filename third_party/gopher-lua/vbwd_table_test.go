package lua

import (
	"fmt"
	"testing"
)

// TestSmallTableSemantics: tables with few string keys (vbwd_table.go)
// behave as upstream's: get/set/delete, next() over array, string and other
// keys, clearing during pairs(), and promotion past smallStrKeys keys.
func TestSmallTableSemantics(t *testing.T) {
	L := NewState()
	defer L.Close()
	err := L.DoString(`
		local t = { 10, 20, a = 1, b = 2, c = 3, [true] = "t", [1.5] = "f" }
		local seen, n = {}, 0
		for k, v in pairs(t) do seen[k] = v; n = n + 1 end
		assert(n == 7, "pairs saw " .. n)
		assert(seen[1] == 10 and seen[2] == 20 and seen.a == 1 and seen.c == 3 and seen[true] == "t" and seen[1.5] == "f")
		-- clearing every field during the traversal
		for k in pairs(t) do t[k] = nil end
		assert(next(t) == nil, "not empty after clearing")
		t.b = 5
		assert(t.b == 5 and next(t) == "b")
		-- growing past the small slots keeps every key and value
		local big = {}
		for i = 1, 40 do big["k" .. i] = i end
		big.k3 = nil
		local sum, cnt = 0, 0
		for k, v in pairs(big) do sum = sum + v; cnt = cnt + 1 end
		assert(cnt == 39 and sum == 820 - 3, cnt .. " " .. sum)
		assert(big.k40 == 40 and big.k3 == nil and big.k1 == 1)
		-- insertion order among small string keys
		local o = {}
		o.z = 1; o.y = 2; o.x = 3
		local order = ""
		for k in pairs(o) do order = order .. k end
		assert(order == "zyx", order)
		-- rawget/rawset and a key given as a value of another type
		rawset(o, "w", 4)
		assert(rawget(o, "w") == 4 and o["w"] == 4)
	`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestSmallTableAllocs: a table with three string keys costs one slice and
// the key boxes, not upstream's three maps and key slice (about ten
// allocations).
func TestSmallTableAllocs(t *testing.T) {
	keys := []string{"hello", "n", "list"}
	allocs := testing.AllocsPerRun(100, func() {
		tb := newLTable(0, 3)
		for _, k := range keys {
			tb.RawSetString(k, LTrue)
		}
		if tb.RawGetString("n") != LTrue {
			t.Fatal("lost a key")
		}
	})
	if allocs > 4 {
		t.Errorf("a 3-key table took %.0f allocations, want at most 4", allocs)
	}
}

// TestTableWithPartAllocs: a table made with room for only string keys, or
// only an array part, is one allocation with that part (newTableWithPart);
// growing past the room still works.
func TestTableWithPartAllocs(t *testing.T) {
	for _, c := range []struct{ acap, hcap int }{{0, 1}, {0, 3}, {0, 8}, {3, 0}, {8, 0}} {
		allocs := testing.AllocsPerRun(100, func() { _ = newLTable(c.acap, c.hcap) })
		if allocs != 1 {
			t.Errorf("newLTable(%d, %d): %.0f allocations, want 1", c.acap, c.hcap, allocs)
		}
	}
	tb := newLTable(2, 0)
	for i := 1; i <= 20; i++ {
		tb.RawSetInt(i, LNumber(i))
	}
	st := newLTable(0, 2)
	for i := 1; i <= 20; i++ {
		st.RawSetString(fmt.Sprint("k", i), LNumber(i))
	}
	for i := 1; i <= 20; i++ {
		if tb.RawGetInt(i) != LNumber(i) || st.RawGetString(fmt.Sprint("k", i)) != LNumber(i) {
			t.Fatalf("lost key %d after growing past the room", i)
		}
	}
}

// TestTableConstructorAllocs: {a = 1, b = 2, c = 3} built by the VM costs
// the table and its pair slice: the keys are the proto's constants, boxed
// once at compile time (vbwd_fieldk.go), and reading a field through an
// __index function passes that constant too.
func TestTableConstructorAllocs(t *testing.T) {
	L := NewState()
	defer L.Close()
	if err := L.DoString(`
		local ud = setmetatable({}, { __index = function(_, k) return k end })
		function build() return { a = 1, b = 2, c = ud.name } end`); err != nil {
		t.Fatal(err)
	}
	fn := L.GetGlobal("build")
	allocs := testing.AllocsPerRun(200, func() {
		L.Push(fn)
		if err := L.PCall(0, 1, nil); err != nil {
			t.Fatal(err)
		}
		L.Pop(1)
	})
	if allocs > 1 {
		t.Errorf("building a 3-key table took %.0f allocations, want at most 1", allocs)
	}
}
