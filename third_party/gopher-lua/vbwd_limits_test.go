package lua

// vbwd: tests of the vbwd patch (PATCHES.md).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yuin/gopher-lua/pm"
)

func limitedState(t testing.TB, budget int64) (*LState, *Limits) {
	L := NewState()
	t.Cleanup(L.Close)
	m := &Limits{MaxString: 16 << 20, MaxPatternSteps: 1 << 30}
	L.G.Limits = m
	m.Arm(budget, nil)
	return L, m
}

const backtrack = `local k = %d
return string.find(string.rep("a", k), string.rep("a?", k) .. string.rep("a", k) .. "b")`

func TestPatternInterruptedByContext(t *testing.T) {
	L, _ := limitedState(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	start := time.Now()
	err := L.DoString(fmt.Sprintf(backtrack, 28))
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("err = %v", err)
	}
	if took > 300*time.Millisecond {
		t.Errorf("the match was cut after %v, deadline 200ms", took)
	}
}

func TestPatternStepBudget(t *testing.T) {
	L, m := limitedState(t, 0)
	m.MaxPatternSteps = 1 << 20
	err := L.DoString(fmt.Sprintf(backtrack, 24))
	if err == nil || !strings.Contains(err.Error(), "pattern too complex: more than 1048576 matching steps") {
		t.Fatalf("err = %v", err)
	}
}

func TestContextCauseIsTheError(t *testing.T) {
	L, _ := limitedState(t, 0)
	ctx, cancel := context.WithCancelCause(context.Background())
	L.SetContext(ctx)
	cancel(errors.New("memory budget of 1 MiB exceeded"))
	err := L.DoString(`local x = 1`)
	if err == nil || !strings.Contains(err.Error(), "memory budget of 1 MiB exceeded") {
		t.Fatalf("err = %v", err)
	}
}

func TestPatternCache(t *testing.T) {
	L, _ := limitedState(t, 0)
	p := "^%x%x%x%x%x%x%x%x%-cache%-test$"
	if err := L.DoString(fmt.Sprintf(`assert(string.match("0123abcd-cache-test", %q))`, p)); err != nil {
		t.Fatal(err)
	}
	patternCache.RLock()
	_, ok := patternCache.m[p]
	patternCache.RUnlock()
	if !ok {
		t.Fatal("pattern not cached")
	}
	if err := L.DoString(`for i = 1, 3000 do string.find("x", "x" .. i) end`); err != nil {
		t.Fatal(err)
	}
	if n := len(patternCache.m); n > patternCacheSize {
		t.Errorf("cache holds %d patterns, bound %d", n, patternCacheSize)
	}
	if err := L.DoString(`string.find("x", "[a")`); err == nil || !strings.Contains(err.Error(), "unexpected EOS") {
		t.Errorf("bad pattern: %v", err)
	}
}

func TestStringBuildersCappedAndCharged(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{`local s = "x" while true do s = s .. s end`, "concat: result of 33554432 bytes exceeds the sandbox limit"},
		{`local t = {} for i = 1, 100 do t[i] = i end return table.concat(t, string.rep("-", 1024 * 1024))`, "concat: result of"},
		{`local a = string.rep("a", 8 * 1024 * 1024) return string.format("%s%s%s", a, a, a)`, "string.format: result of"},
		{`return string.format("%999d", 1)`, "invalid format (width or precision too long)"},
		{`return (string.rep("a", 8 * 1024 * 1024):gsub("a", "aaa"))`, "string.gsub: result exceeds the sandbox limit"},
		{`return string.rep("ab", 2^40)`, "string.rep: result of 2199023255552 bytes exceeds the sandbox limit"},
		{`local t = {} for i = 1, 100 do t[i] = string.rep("x", 1024 * 1024 - i) end`, "memory budget of 64 MiB exceeded"},
		{`local t = {} for i = 1, 100 do t[i] = string.upper(string.rep("x", 1024 * 1024)) end`, "memory budget of 64 MiB exceeded"},
	} {
		L, _ := limitedState(t, 64<<20)
		if err := L.DoString(c.code); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.code, err, c.want)
		}
	}
}

func TestTableGrowthCharged(t *testing.T) {
	L, m := limitedState(t, 1<<20)
	if err := L.DoString(`T = {} for i = 1, 1000 do T[i] = i; T["k" .. i] = i end`); err != nil {
		t.Fatal(err)
	}
	grown := m.Used()
	if grown < 1000*(16+64) {
		t.Errorf("growth of 1000 array and 1000 hash slots charged %d bytes", grown)
	}
	m.Arm(1<<20, nil)
	if err := L.DoString(`for i = 1, 1000 do T[i] = -i; T[i * 0 + 1] = 0 end`); err != nil {
		t.Fatal(err)
	}
	if m.Used() != 0 {
		t.Errorf("updating existing keys charged %d bytes", m.Used())
	}
	tripped := false
	m.Arm(1<<20, func() { tripped = true })
	err := L.DoString(`local t = {} t[50000000] = 1`)
	if !tripped || !m.Exceeded() || len(L.GetGlobal("T").(*LTable).array) != 1000 {
		t.Errorf("a 800 MB array growth was not refused: tripped %v, err %v", tripped, err)
	}
}

func TestCoroutinesCharged(t *testing.T) {
	L, _ := limitedState(t, 8<<20)
	err := L.DoString(`local cos = {} for i = 1, 100000 do cos[i] = coroutine.create(function() end) end`)
	if err == nil || !strings.Contains(err.Error(), "memory budget of 8 MiB exceeded") {
		t.Fatalf("err = %v", err)
	}
}

func TestSortInterruptible(t *testing.T) {
	L, _ := limitedState(t, 0)
	if err := L.DoString(`T = {} for i = 1, 100000 do T[i] = (i * 7919) % 100003 end`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	L.SetContext(ctx)
	if err := L.DoString(`table.sort(T)`); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v", err)
	}
}

func TestGmatchLazy(t *testing.T) {
	L, _ := limitedState(t, 0)
	err := L.DoString(`
local n, s = 0, string.rep("ab", 4 * 1024 * 1024)
for w in s:gmatch("a(b)") do n = n + 1; if n == 3 then break end end
assert(n == 3)
local got = {}
for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do got[#got + 1] = k .. v end
assert(table.concat(got, ",") == "a1,b2")
assert(select(2, string.gsub("hello world", "o", "0")) == 2)
assert(string.gsub("abc", "", "-") == "-a-b-c-")
assert(string.gsub("hello", "^h", "H") == "Hello")`)
	if err != nil {
		t.Fatal(err)
	}
}

const uuidPattern = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
const uuid = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b"

// BenchmarkUUIDMatch/uncompiled is what every string.match paid before the
// cache: parse and compile the pattern, then match; /cached is string.match
// now.
func BenchmarkUUIDMatch(b *testing.B) {
	b.Run("uncompiled", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if mds, err := pm.Find(uuidPattern, []byte(uuid), 0, 1); err != nil || len(mds) != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		L := NewState()
		defer L.Close()
		for i := 0; i < b.N; i++ {
			if md := findOne(L, uuidPattern, uuid, 0); md == nil {
				b.Fatal("no match")
			}
		}
	})
	b.Run("lua-string.match", func(b *testing.B) {
		L := NewState()
		defer L.Close()
		fn, err := L.LoadString(fmt.Sprintf(`local s, p = %q, %q
return function(n) for i = 1, n do assert(string.match(s, p)) end end`, uuid, uuidPattern))
		if err != nil {
			b.Fatal(err)
		}
		L.Push(fn)
		L.Call(0, 1)
		loop := L.Get(-1)
		b.ResetTimer()
		L.Push(loop)
		L.Push(LNumber(b.N))
		L.Call(1, 0)
	})
}

func TestStopFromAnotherGoroutine(t *testing.T) {
	L, m := limitedState(t, 0)
	L.SetContext(context.Background())
	go func() {
		for m.Used() == 0 {
			time.Sleep(time.Millisecond)
		}
		m.Stop(errors.New("process memory ceiling reached"))
	}()
	err := L.DoString(`local t = {} while true do pcall(function() t[#t + 1] = {} end) end`)
	if err == nil || !strings.Contains(err.Error(), "process memory ceiling reached") {
		t.Fatalf("err = %v", err)
	}
}
