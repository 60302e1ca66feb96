package luavm

import (
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
	"log/slog"
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

func ResponseTooLarge(max int64) error {
	return fmt.Errorf("%w: the handler's response body exceeds the limit of %d bytes (MaxResponseBytes)", ErrResponseTooLarge, max)
}

// newLimits is the accounting of a new sandboxed state.
func newLimits() *lua.Limits {
	return &lua.Limits{MaxString: maxBuiltString, MaxPatternSteps: maxPatternSteps, OnLarge: checkCeiling}
}

// ceilingCheck is a running watchdog's ceiling, for checkCeiling.
type ceilingCheck struct {
	log              *slog.Logger
	trigger, ceiling int64
	mu               sync.Mutex // pm
	pm               *ProcessMemory
}

// ceilings are the running watchdogs' (one per engine with a ceiling: tests
// run several); checkCeiling applies the lowest trigger.
var ceilings struct {
	mu     sync.Mutex
	list   []*ceilingCheck
	lowest atomic.Pointer[ceilingCheck]
}

func addCeiling(c *ceilingCheck) {
	ceilings.mu.Lock()
	defer ceilings.mu.Unlock()
	ceilings.list = append(ceilings.list, c)
	setLowestLocked()
}

func removeCeiling(c *ceilingCheck) {
	ceilings.mu.Lock()
	defer ceilings.mu.Unlock()
	for i, x := range ceilings.list {
		if x == c {
			ceilings.list = append(ceilings.list[:i], ceilings.list[i+1:]...)
			break
		}
	}
	setLowestLocked()
}

func setLowestLocked() {
	var low *ceilingCheck
	for _, c := range ceilings.list {
		if low == nil || c.trigger < low.trigger {
			low = c
		}
	}
	ceilings.lowest.Store(low)
}

// checkCeiling is every state's lua.Limits.OnLarge: before a call builds
// pending bytes (lua.LargeCharge or more: a string.rep, a concatenation),
// or after it was handed a large value already built (pending 0: a decoded
// JSON string, an HTTP body), the process's memory is read, and when it
// would be past the watchdog's trigger the largest calls are cancelled
// then, as the watchdog does — not up to a sampling interval later, by
// which time a loop building 16 MiB strings had taken the process past its
// ceiling. What calls already cancelled (still unwinding) have allocated
// is taken as about to be freed: it does not cancel more calls.
func checkCeiling(pending int64) {
	if c := ceilings.lowest.Load(); c != nil {
		c.check(pending)
	}
}

// check reads the process's memory, plus pending bytes about to be
// allocated, and sheds calls when that is past the trigger: the watchdog's
// every sample and checkCeiling.
func (c *ceilingCheck) check(pending int64) {
	c.mu.Lock()
	used := c.pm.Read() + pending
	c.mu.Unlock()
	if used > c.trigger {
		shedCalls(c.log, used-calls.shedBytes(), c.trigger, c.ceiling)
	}
}

// causeError is why the watchdog stopped a call: its message is what the Lua
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
// its budget, and its registration with the watchdog. A limit stops the call
// through lua.Limits.Stop, which the VM checks at every instruction (and the
// natives with L.Interrupted): no per-call context is needed, so arming a
// call allocates nothing.
type callGuard struct {
	lim    *lua.Limits
	plugin string
	check  func() error // L.Interrupted, made once (JSON encoding)
	listed bool         // registered in calls for this call
	seq    uint64       // calls armed; written under calls.mu when listed
	shed   bool         // stopped by the watchdog, still unwinding; under calls.mu
}

func newCallGuard(L *lua.LState, plugin string) *callGuard {
	return &callGuard{lim: L.G.Limits, plugin: plugin, check: L.Interrupted}
}

// arm bounds the next call: what it allocates to budget bytes (0:
// DefaultMemoryBudget).
func (g *callGuard) arm(budget int64) {
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	g.lim.Arm(budget, nil)
	if g.listed = watchdogs.Load() > 0; g.listed { // without a watchdog nobody reads the list
		calls.add(g)
	}
}

// stopped reports whether a limit stopped the call.
func (g *callGuard) stopped() bool { return g.lim.Stopped() != nil }

// done ends the call and returns its error, marked as a memory error
// (ErrMemoryBudget, ErrMemoryCeiling) when a limit ended it.
func (g *callGuard) done(err error) error {
	if g.listed {
		calls.remove(g)
	}
	g.lim.Disarm()
	cause := g.lim.Stopped()
	var kind error
	switch {
	case cause == nil:
		return err
	case lua.IsBudgetError(cause): // the first cause: a call stopped by the ceiling may exceed its budget while unwinding
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
func ArmCall(L *lua.LState, plugin string, budget int64) (done func(error) error) {
	g := newCallGuard(L, plugin)
	g.arm(budget)
	return g.done
}

// calls is every Lua call running in the process, for the watchdog: the
// memory ceiling is the process's, whichever engine runs the call.
var calls = activeCalls{m: map[*callGuard]struct{}{}}

// watchdogs counts the running watchdogs: calls are listed only when one is.
var watchdogs atomic.Int32

type activeCalls struct {
	mu sync.Mutex
	m  map[*callGuard]struct{}
}

func (c *activeCalls) add(g *callGuard) {
	c.mu.Lock()
	g.seq++
	g.shed = false
	c.m[g] = struct{}{}
	c.mu.Unlock()
}

// stop stops v's call unless it has ended since largest saw it; it reports
// whether it did.
func (c *activeCalls) stop(v victim, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[v.g]; !ok || v.g.seq != v.seq || v.g.shed {
		return false // over, or already stopped by a concurrent shedCalls
	}
	v.g.shed = true
	v.g.lim.Stop(err)
	return true
}

// shedBytes is what the calls stopped and still unwinding have allocated.
func (c *activeCalls) shedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for g := range c.m {
		if g.shed {
			n += g.lim.Used()
		}
	}
	return n
}

func (c *activeCalls) remove(g *callGuard) {
	c.mu.Lock()
	delete(c.m, g)
	c.mu.Unlock()
}

// victim is a running call the watchdog may stop.
type victim struct {
	g    *callGuard
	seq  uint64
	used int64
}

// largest returns the running calls not already cancelled, the largest
// allocators first.
func (c *activeCalls) largest() []victim {
	c.mu.Lock()
	vs := make([]victim, 0, len(c.m))
	for g := range c.m {
		if !g.shed {
			vs = append(vs, victim{g: g, seq: g.seq, used: g.lim.Used()})
		}
	}
	c.mu.Unlock()
	sort.Slice(vs, func(i, j int) bool { return vs[i].used > vs[j].used })
	return vs
}

// memoryCeiling is the configured process ceiling: Options.MemoryCeiling,
// else GOMEMLIMIT when set; 0 when there is none.
func MemoryCeiling(opt int64) int64 {
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

// ProcessMemory reads what the Go runtime holds from the OS (mapped and
// not released): close to the process's resident size, without stopping
// the world.
type ProcessMemory struct{ samples []rtmetrics.Sample }

func NewProcessMemory() *ProcessMemory {
	return &ProcessMemory{samples: []rtmetrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}}
}

// Read returns the bytes the process holds from the OS.
func (p *ProcessMemory) Read() int64 {
	rtmetrics.Read(p.samples)
	return int64(p.samples[0].Value.Uint64()) - int64(p.samples[1].Value.Uint64())
}

// StartWatchdog sets the Go soft memory limit below the ceiling and, until
// quit is closed, samples the process's memory; above 90% of the ceiling
// (the margin covers what a call allocates in small pieces between two
// samples; a piece of lua.LargeCharge bytes or more is checked before it is
// built, checkCeiling) it cancels running calls, the largest allocators
// first, until their counts cover the excess.
//
// ceilingOpt is Options.MemoryCeiling (see MemoryCeiling).
func StartWatchdog(ceilingOpt int64, log *slog.Logger, quit <-chan struct{}) {
	ceiling := MemoryCeiling(ceilingOpt)
	if ceiling <= 0 {
		return
	}
	soft, trigger := ceiling*8/10, ceiling*9/10
	prev := debug.SetMemoryLimit(soft) // the GC works harder before the watchdog has to act
	log.Info("memory ceiling", "bytes", ceiling, "gc_soft_limit", soft, "watchdog_above", trigger)
	watchdogs.Add(1)
	check := &ceilingCheck{log: log, trigger: trigger, ceiling: ceiling, pm: NewProcessMemory()}
	addCeiling(check)
	go func() {
		defer watchdogs.Add(-1)
		defer removeCeiling(check)
		defer debug.SetMemoryLimit(prev)
		t := time.NewTicker(watchdogInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			check.check(0)
		}
	}()
}

// shedCalls cancels the largest running calls until their counts cover
// what the process is over its ceiling (at least one call).
func shedCalls(log *slog.Logger, used, trigger, ceiling int64) {
	over := used - trigger
	for _, v := range calls.largest() {
		msg := fmt.Sprintf("process memory ceiling of %d MiB reached (%d MiB in use): call cancelled as one of the largest allocators (%d MiB)",
			ceiling>>20, used>>20, v.used>>20)
		if !calls.stop(v, &causeError{msg: msg, kind: ErrMemoryCeiling}) {
			continue
		}
		log.Error("memory ceiling reached: call cancelled", "plugin", v.g.plugin, "call_allocated", v.used,
			"process_bytes", used, "ceiling", ceiling)
		over -= v.used
		if over <= 0 {
			return
		}
	}
}
