package luavm

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestCeiling_CheckedBeforeALargeAllocation: a call about to build a string
// that would take the process past its memory ceiling's trigger is refused
// before it builds it, every time — not up to a watchdog interval later,
// when the call may be over (TestMemoryCeilingWatchdog in engine saw a loop
// of 16 MiB strings pass the ceiling between two of the watchdog's samples).
func TestCeiling_CheckedBeforeALargeAllocation(t *testing.T) {
	base := NewProcessMemory().Read()
	ceiling := (base + 8<<20) * 10 / 9 // the watchdog acts above 90%: base + 8 MiB
	quit := make(chan struct{})
	StartWatchdog(ceiling, slog.New(slog.NewTextHandler(io.Discard, nil)), quit)
	defer waitFor(t, "the watchdog to stop", func() bool { return watchdogs.Load() == 0 })
	defer close(quit)
	L := lua.NewState()
	defer L.Close()
	L.G.Limits = newLimits()
	for i := 0; i < 5; i++ {
		done := ArmCall(L, "hog", 1<<30)
		err := done(L.DoString(`local s = string.rep("x", 16 * 1024 * 1024) return #s`))
		// raised by string.rep itself (the traceback's innermost frame),
		// before it built the string
		if !errors.Is(err, ErrMemoryCeiling) || !strings.Contains(err.Error(), "<string>:1: process memory ceiling of") ||
			!strings.Contains(err.Error(), "in function 'rep'") {
			t.Fatalf("call %d: err = %v, want the process ceiling, raised by string.rep", i, err)
		}
	}
	// a small allocation is not checked, and goes on
	done := ArmCall(L, "small", 1<<30)
	if err := done(L.DoString(`local s = string.rep("x", 1024) return #s`)); err != nil {
		t.Fatalf("small call: %v", err)
	}
}

// TestCeiling_SeveralWatchdogs: with two engines' watchdogs running, the
// check before large allocations applies the lower ceiling, and stopping
// one leaves the other's in force (it had set the check to none).
func TestCeiling_SeveralWatchdogs(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	quitA, quitB := make(chan struct{}), make(chan struct{})
	StartWatchdog(1<<40, log, quitA)
	StartWatchdog(1<<41, log, quitB)
	if c := ceilings.lowest.Load(); c == nil || c.ceiling != 1<<40 {
		t.Fatalf("checked ceiling %v, want the lower one", c)
	}
	close(quitB)
	waitFor(t, "the second watchdog to stop", func() bool { return watchdogs.Load() == 1 })
	if c := ceilings.lowest.Load(); c == nil || c.ceiling != 1<<40 {
		t.Fatalf("after the second watchdog stopped, checked ceiling %v, want the first's", c)
	}
	close(quitA)
	waitFor(t, "the first watchdog to stop", func() bool { return watchdogs.Load() == 0 && ceilings.lowest.Load() == nil })
}
