package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Memory limits of Lua calls. gopher-lua has no allocation hook, so the
// in-tree copy (third_party/gopher-lua, PATCHES.md) counts what a state
// allocates — strings built by builtins and "..", table growth, closures,
// coroutines — in a lua.Limits shared by the state and its coroutines. The
// count is allocation volume since the call began, not live bytes.
const (
	// DefaultMemoryBudget is what one call may allocate unless the plugin's
	// manifest says memory_limit_mb.
	DefaultMemoryBudget = 64 << 20
	// DefaultMaxResponseBytes bounds a response body.
	DefaultMaxResponseBytes = 64 << 20
	// maxPatternSteps bounds one pattern-matching call (string.find, match,
	// gmatch step, gsub): about 2 to 5 s of CPU. The call's deadline usually
	// ends a runaway match first; this bound holds where there is none.
	maxPatternSteps = 1 << 28
	// watchdogInterval is how often the process ceiling is sampled.
	watchdogInterval = 10 * time.Millisecond
)

var (
	// ErrMemoryBudget: a call allocated more than its plugin's budget.
	ErrMemoryBudget = errors.New("memory budget exceeded")
	// ErrMemoryCeiling: the process was above its memory ceiling and the
	// watchdog cancelled the call.
	ErrMemoryCeiling = errors.New("process memory ceiling reached")
	// ErrResponseTooLarge: a handler returned a body over MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response body too large")
)

func responseTooLarge(max int64) error {
	return fmt.Errorf("%w: the handler's response body exceeds the limit of %d bytes (MaxResponseBytes)", ErrResponseTooLarge, max)
}

// newLimits is the accounting of a new sandboxed state.
func newLimits() *lua.Limits {
	return &lua.Limits{MaxString: maxBuiltString, MaxPatternSteps: maxPatternSteps}
}

// causeError is a context cancellation cause: its message is what the Lua
// call ends with, its kind what errors.Is finds.
type causeError struct {
	msg  string
	kind error
}

func (e *causeError) Error() string        { return e.msg }
func (e *causeError) Is(target error) bool { return target == e.kind }

// memoryError marks a call's error as caused by a memory limit while
// keeping the Lua error (and its file:line) it wraps.
type memoryError struct {
	err  error
	kind error
}

func (e *memoryError) Error() string   { return e.err.Error() }
func (e *memoryError) Unwrap() []error { return []error{e.err, e.kind} }

// callGuard bounds the calls of one state: what a call allocates, against
// its budget, and its registration with the watchdog. A pooled state keeps
// its guard from call to call, so arming one costs no allocation beyond the
// call's context.
type callGuard struct {
	lim    *lua.Limits
	plugin string
	trip   func()       // the budget's onTrip, made once
	check  func() error // L.Interrupted, made once (JSON encoding)

	cancel context.CancelCauseFunc // the current call's; read by the watchdog under calls.mu
	shed   atomic.Bool             // cancelled by the watchdog, still unwinding
}

func newCallGuard(L *lua.LState, plugin string) *callGuard {
	g := &callGuard{lim: L.G.Limits, plugin: plugin, check: L.Interrupted}
	g.trip = func() { g.cancel(&causeError{msg: g.lim.BudgetMessage(), kind: ErrMemoryBudget}) }
	return g
}

// arm bounds the next call: what it allocates to budget bytes (0:
// DefaultMemoryBudget). The returned context is the one to run the call
// under (L.SetContext): it is cancelled, with a cause naming the limit, when
// the budget is exceeded or the watchdog picks the call.
func (g *callGuard) arm(ctx context.Context, budget int64) context.Context {
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	cctx, cancel := context.WithCancelCause(ctx)
	g.cancel = cancel
	g.shed.Store(false)
	g.lim.Arm(budget, g.trip)
	calls.add(g)
	return cctx
}

// done ends the call armed with cctx and returns its error, marked as a
// memory error (ErrMemoryBudget, ErrMemoryCeiling) when a limit ended it.
func (g *callGuard) done(cctx context.Context, err error) error {
	calls.remove(g)
	g.lim.Disarm()
	cause := context.Cause(cctx)
	g.cancel(nil)
	var kind error
	switch {
	case g.lim.Exceeded():
		kind = ErrMemoryBudget
	case errors.Is(cause, ErrMemoryCeiling):
		kind = ErrMemoryCeiling
	default:
		return err
	}
	if err == nil {
		err = cause
	}
	return &memoryError{err: err, kind: kind}
}

// armCall arms a fresh guard for a one-off call (building a state, reading
// a manifest); done returns the call's error as callGuard.done does.
func armCall(ctx context.Context, L *lua.LState, plugin string, budget int64) (context.Context, func(error) error) {
	g := newCallGuard(L, plugin)
	cctx := g.arm(ctx, budget)
	return cctx, func(err error) error { return g.done(cctx, err) }
}

// calls is every Lua call running in the process, for the watchdog: the
// memory ceiling is the process's, whichever engine runs the call.
var calls = activeCalls{m: map[*callGuard]struct{}{}}

type activeCalls struct {
	mu sync.Mutex
	m  map[*callGuard]struct{}
}

func (c *activeCalls) add(g *callGuard) {
	c.mu.Lock()
	c.m[g] = struct{}{}
	c.mu.Unlock()
}

func (c *activeCalls) remove(g *callGuard) {
	c.mu.Lock()
	delete(c.m, g)
	c.mu.Unlock()
}

// victim is a running call the watchdog may cancel.
type victim struct {
	g      *callGuard
	plugin string
	cancel context.CancelCauseFunc
	used   int64
}

// largest returns the running calls not already cancelled, the largest
// allocators first.
func (c *activeCalls) largest() []victim {
	c.mu.Lock()
	vs := make([]victim, 0, len(c.m))
	for g := range c.m {
		if !g.shed.Load() {
			vs = append(vs, victim{g: g, plugin: g.plugin, cancel: g.cancel, used: g.lim.Used()})
		}
	}
	c.mu.Unlock()
	sort.Slice(vs, func(i, j int) bool { return vs[i].used > vs[j].used })
	return vs
}

// memoryCeiling is the configured process ceiling: Options.MemoryCeiling,
// else GOMEMLIMIT when set; 0 when there is none.
func memoryCeiling(opt int64) int64 {
	if opt > 0 {
		return opt
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
			return l
		}
	}
	return 0
}

// processMemory reads what the Go runtime holds from the OS (mapped and
// not released): close to the process's resident size, without stopping
// the world.
type processMemory struct{ samples []rtmetrics.Sample }

func newProcessMemory() *processMemory {
	return &processMemory{samples: []rtmetrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}}
}

func (p *processMemory) read() int64 {
	rtmetrics.Read(p.samples)
	return int64(p.samples[0].Value.Uint64()) - int64(p.samples[1].Value.Uint64())
}

// startWatchdog sets the Go soft memory limit below the ceiling and, until
// quit is closed, samples the process's memory; above 90% of the ceiling
// (the margin covers what a call allocates between two samples) it cancels
// running calls, the largest allocators first, until their counts cover the
// excess.
func (e *Engine) startWatchdog() {
	ceiling := memoryCeiling(e.opts.MemoryCeiling)
	if ceiling <= 0 {
		return
	}
	soft, trigger := ceiling*8/10, ceiling*9/10
	prev := debug.SetMemoryLimit(soft) // the GC works harder before the watchdog has to act
	e.log.Info("memory ceiling", "bytes", ceiling, "gc_soft_limit", soft, "watchdog_above", trigger)
	go func() {
		defer debug.SetMemoryLimit(prev)
		pm := newProcessMemory()
		t := time.NewTicker(watchdogInterval)
		defer t.Stop()
		for {
			select {
			case <-e.quit:
				return
			case <-t.C:
			}
			if used := pm.read(); used > trigger {
				e.shedCalls(used, trigger, ceiling)
			}
		}
	}()
}

// shedCalls cancels the largest running calls until their counts cover
// what the process is over its ceiling (at least one call).
func (e *Engine) shedCalls(used, trigger, ceiling int64) {
	over := used - trigger
	for _, v := range calls.largest() {
		msg := fmt.Sprintf("process memory ceiling of %d MiB reached (%d MiB in use): call cancelled as one of the largest allocators (%d MiB)",
			ceiling>>20, used>>20, v.used>>20)
		v.g.shed.Store(true)
		v.cancel(&causeError{msg: msg, kind: ErrMemoryCeiling})
		e.log.Error("memory ceiling reached: call cancelled", "plugin", v.plugin, "call_allocated", v.used,
			"process_bytes", used, "ceiling", ceiling)
		over -= v.used
		if over <= 0 {
			return
		}
	}
}
