package shared

import (
	"fmt"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clockModule exposes clock.advance(seconds) to the Lua tests.
type clockModule struct{ c *fakeClock }

func (m clockModule) Name() string { return "clock" }

func (m clockModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"advance": func(L *lua.LState) int {
			m.c.Advance(time.Duration(float64(L.CheckNumber(1)) * float64(time.Second)))
			return 0
		},
	}))
	return 1
}

// renamed installs a module under another name.
type renamed struct {
	hostapi.Module
	name string
}

func (r renamed) Name() string { return r.name }

func TestLua(t *testing.T) {
	c := newFakeClock()
	store := NewStore(c.Now)
	luatest.Run(t, "testdata",
		New(store.Bucket("tarot")),
		renamed{New(store.Bucket("tarot")), "shared_next"},
		renamed{New(store.Bucket("meinchat")), "shared_other"},
		clockModule{c},
	)
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(NewStore(nil).Bucket("p")), "add", "delete", "get", "incr", "keys", "set", "ttl")
}

// Many states of one plugin, each in its own goroutine as in a pool, update
// the same keys; the counts add up and -race finds no data race.
func TestConcurrentStates(t *testing.T) {
	store := NewStore(nil)
	const states, rounds = 8, 200
	var wg sync.WaitGroup
	for i := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Alternate two module instances, as two generations would.
			L := luatest.NewState(t, New(store.Bucket("tarot")))
			err := L.DoString(fmt.Sprintf(`
				local shared = require("vbwd.shared")
				local me = %d
				for i = 1, %d do
					shared.incr("total")
					shared.incr("by:" .. me, 2, 60)
					shared.set("last", { state = me, i = i, tags = { "a", "b" } })
					local last = shared.get("last")
					assert(last.tags[2] == "b")
					shared.add("first", me)
					shared.set("tmp:" .. me, i, 0.001)
					shared.keys("by:")
					shared.delete("tmp:" .. me)
				end`, i, rounds))
			if err != nil {
				t.Error(err)
			}
		}()
	}
	for range 50 {
		store.Sweep()
	}
	wg.Wait()
	b := store.Bucket("tarot")
	if v, _ := b.Get("total"); v != int64(states*rounds) {
		t.Errorf("total = %v, want %d", v, states*rounds)
	}
	for i := range states {
		if v, _ := b.Get(fmt.Sprintf("by:%d", i)); v != int64(2*rounds) {
			t.Errorf("by:%d = %v, want %d", i, v, 2*rounds)
		}
	}
	if got := len(b.Keys("by:")); got != states {
		t.Errorf("%d by: keys, want %d", got, states)
	}
}

// The build-phase error is a Lua error, so the engine reports it with the
// plugin's file:line.
func TestBuildPhaseError(t *testing.T) {
	L := luatest.NewState(t, New(NewStore(nil).Bucket("p")))
	L.SetContext(hostapi.WithBuildPhase(t.Context()))
	err := L.DoString(`require("vbwd.shared").set("k", 1)`)
	if err == nil {
		t.Fatal("write during the build phase succeeded")
	}
	if want := "<string>:1: " + buildPhaseError; err.Error()[:len(want)] != want {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
}
