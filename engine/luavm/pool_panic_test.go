package luavm

import (
	"context"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// A panic in the Go code around a pooled call (net/http recovers it and the
// server goes on) gives the pool its slot back, discards the state it went
// through and leaves no call for the watcher. Before, the slot was lost: a
// pool of one answered every later call with a wait until its deadline.
func TestPool_PanicInACallGivesTheSlotBack(t *testing.T) {
	p := NewPool(PoolConfig{Plugin: "p", Max: 1}, func(context.Context) (*VM, error) {
		L := lua.NewState()
		L.G.Limits = newLimits()
		return &VM{L: L}, nil
	})
	defer func() { _ = p.Close(context.Background()) }()
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic to go on to the caller", r)
			}
		}()
		_ = p.Run(context.Background(), func(*VM) error { panic("boom") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Run(ctx, func(*VM) error { return nil }); err != nil {
		t.Fatalf("the next call on a pool of one: %v", err)
	}
	if st := p.Stats(); st.InUse != 0 || st.Discards != 1 {
		t.Fatalf("stats after the panic: %+v (want nothing in use, one state discarded)", st)
	}
	waitFor(t, "the watcher to end once idle", func() bool {
		return !watcher.running.Load()
	})
}
