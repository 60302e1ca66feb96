package time

import (
	"sync"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

var fixed = time.Date(2026, 11, 26, 12, 34, 56, 789_000_000, time.UTC)

func TestLua(t *testing.T) {
	luatest.Run(t, "testdata", New(func() time.Time { return fixed }))
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(nil), "add", "add_days", "duration", "format", "format_duration", "from_zone", "now", "now_ms", "parse", "since", "to_zone", "today", "unix")
}

func TestNew_defaultClock(t *testing.T) {
	L := luatest.NewState(t, New(nil))
	before := time.Now().Unix()
	if err := L.DoString(`return require("vbwd.time").unix()`); err != nil {
		t.Fatal(err)
	}
	if got := int64(L.CheckNumber(-1)); got < before || got > time.Now().Unix() {
		t.Errorf("unix() = %d, not the current time", got)
	}
}

// One module serves all the states of a generation at once.
func TestConcurrentStates(t *testing.T) {
	m := New(func() time.Time { return fixed })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			L := luatest.NewState(t, m)
			if err := L.DoString(`
				local time = require("vbwd.time")
				for i = 1, 50 do
					eq(time.today("Asia/Tokyo"), "2026-11-26")
					eq(time.today("Pacific/Kiritimati"), "2026-11-27")
				end`); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestFromSeconds(t *testing.T) {
	for _, ts := range []float64{0, 1.5, -1.25, 1795696496.789} {
		got := float64(seconds(fromSeconds(ts)))
		if d := got - ts; d > 1e-6 || d < -1e-6 {
			t.Errorf("seconds(fromSeconds(%v)) = %v", ts, got)
		}
	}
}
