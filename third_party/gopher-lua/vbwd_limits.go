package lua

// vbwd: this file is not part of upstream gopher-lua. It holds the resource
// accounting the vbwd engine needs; PATCHES.md lists every hook into it.

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Limits accounts what the Lua code of one state — and its coroutines, which
// share its Global — allocates, and bounds it. It counts allocation volume:
// bytes charged are never given back when they become garbage. A nil *Limits
// (the default) bounds nothing.
type Limits struct {
	// MaxString bounds the length of the string one builtin (.., string.rep,
	// format, gsub, upper, lower, reverse, char, table.concat) may build.
	// 0: no bound.
	MaxString int
	// MaxPatternSteps bounds the steps of one pattern-matching call. 0: no bound.
	MaxPatternSteps int64

	// Only used and stopped are touched by other goroutines (a watchdog);
	// the rest belongs to the goroutine running the state.
	used    atomic.Int64
	stopped atomic.Pointer[error] // why the call must end; checked by the VM at every instruction
	budget  int64                 // 0: unlimited
	tripped bool
	onTrip  func() // called once, on the goroutine running the state

	// OnLarge, when set, is called by Charge and ChargeBuilt for every
	// charge of at least LargeCharge bytes, with the bytes not yet
	// allocated (Charge: n, before the caller builds it; ChargeBuilt: 0):
	// the engine checks the process's memory ceiling there rather than
	// only between two samples of its watchdog. It may Stop the call; the
	// charge is then refused.
	OnLarge func(pending int64)
}

// LargeCharge is the smallest charge OnLarge is called for.
const LargeCharge = 1 << 20

// Arm resets the counter and bounds what follows to budget bytes (0: no
// bound). When the budget is first exceeded the call is stopped (Stop) and
// onTrip, if any, is called.
func (m *Limits) Arm(budget int64, onTrip func()) {
	m.used.Store(0)
	m.stopped.Store(nil)
	m.tripped = false
	m.onTrip = onTrip
	m.budget = budget
}

// Disarm lifts the budget; Used and Exceeded keep their values.
func (m *Limits) Disarm() {
	m.budget = 0
	m.onTrip = nil
}

// Stop ends the state's current call with err: the VM raises it at the next
// instruction (a Lua error pcall cannot keep going: it is raised again at
// each instruction), and Interrupted returns it. The first cause given since
// Arm is kept. Safe from any goroutine.
func (m *Limits) Stop(err error) {
	m.stopped.CompareAndSwap(nil, &err)
}

// Stopped returns the cause given to Stop since Arm, or nil.
func (m *Limits) Stopped() error {
	if p := m.stopped.Load(); p != nil {
		return *p
	}
	return nil
}

// Used is the number of bytes charged since Arm. Safe from any goroutine;
// every other method but Stop and Stopped belongs to the goroutine running
// the state.
func (m *Limits) Used() int64 { return m.used.Load() }

// Exceeded reports whether the budget was exceeded since Arm.
func (m *Limits) Exceeded() bool { return m.tripped }

// BudgetMessage is the error a call over its budget ends with.
func (m *Limits) BudgetMessage() string {
	b := m.budget
	if b%(1<<20) == 0 {
		return fmt.Sprintf("memory budget of %d MiB exceeded", b>>20)
	}
	return fmt.Sprintf("memory budget of %d bytes exceeded", b)
}

// RefusedMessage is the error a call ends with when Charge refused: the
// cause it was stopped with (its budget, or what OnLarge or another
// goroutine stopped it for), else the budget message.
func (m *Limits) RefusedMessage() string {
	if err := m.Stopped(); err != nil {
		return err.Error()
	}
	return m.BudgetMessage()
}

// Charge counts n bytes its caller is about to allocate. It returns false
// when the budget is exceeded (now or earlier since Arm; the first time, it
// calls onTrip), or when OnLarge stopped the call.
func (m *Limits) Charge(n int64) bool { return m.charge(n, n) }

// ChargeBuilt is Charge for n bytes already allocated (a string built
// before its size was known): OnLarge is told none are pending.
func (m *Limits) ChargeBuilt(n int64) bool { return m.charge(n, 0) }

func (m *Limits) charge(n, pending int64) bool {
	if m == nil {
		return true
	}
	u := m.used.Add(n)
	if b := m.budget; b > 0 && (u > b || m.tripped) {
		if !m.tripped {
			m.tripped = true
			m.Stop(budgetError{m.BudgetMessage()})
			if m.onTrip != nil {
				m.onTrip()
			}
		}
		return false
	}
	if n >= LargeCharge && m.OnLarge != nil {
		m.OnLarge(pending)
		if m.stopped.Load() != nil {
			return false
		}
	}
	return true
}

// budgetError is the cause a call over its budget is stopped with.
type budgetError struct{ msg string }

func (e budgetError) Error() string { return e.msg }

// IsBudgetError reports whether err is the cause Charge stops a call with.
func IsBudgetError(err error) bool {
	_, ok := err.(budgetError)
	return ok
}

// Approximate sizes charged for what the VM allocates besides strings.
const (
	tableBytes     = 96  // an LTable
	arraySlotBytes = 16  // one LValue (an interface)
	hashSlotBytes  = 128 // one key/value pair, its entry in the key list and in the key index, map overhead
	closureBytes   = 96  // an LFunction, plus 8 per upvalue
)

func newTableBytes(acap, hcap int) int64 {
	return tableBytes + int64(max(acap, 0))*arraySlotBytes + int64(max(hcap, 0))*hashSlotBytes
}

// threadBytes is what a new coroutine allocates up front: its call-frame
// stack and its data stack.
func threadBytes(o Options) int64 {
	return int64(o.CallStackSize)*int64(unsafe.Sizeof(callFrame{})) + int64(o.RegistrySize)*arraySlotBytes + 1024
}

// chargeMem charges n bytes and raises RefusedMessage when they are refused.
func (ls *LState) chargeMem(n int64) {
	if m := ls.G.Limits; m != nil && !m.Charge(n) {
		ls.RaiseError("%s", m.RefusedMessage())
	}
}

// chargeString checks a string of n bytes that builtin what is about to
// build against MaxString, and charges it.
func (ls *LState) chargeString(what string, n int) { ls.chargeStr(what, n, int64(n)) }

// chargeBuiltString is chargeString for a string already built.
func (ls *LState) chargeBuiltString(what string, n int) { ls.chargeStr(what, n, 0) }

func (ls *LState) chargeStr(what string, n int, pending int64) {
	m := ls.G.Limits
	if m == nil {
		return
	}
	if m.MaxString > 0 && (n > m.MaxString || n < 0) {
		ls.RaiseError("%s: result of %d bytes exceeds the sandbox limit of %d bytes", what, n, m.MaxString)
	}
	if !m.charge(int64(n), pending) {
		ls.RaiseError("%s", m.RefusedMessage())
	}
}

// checkStringLen raises when a string being built has grown past MaxString,
// before it is finished (and charged).
func (ls *LState) checkStringLen(what string, n int) {
	if m := ls.G.Limits; m != nil && m.MaxString > 0 && n > m.MaxString {
		ls.RaiseError("%s: result exceeds the sandbox limit of %d bytes", what, m.MaxString)
	}
}

// newTableL is newLTable charged to the state's budget; the table keeps the
// Limits to charge its growth.
func (ls *LState) newTableL(acap, hcap int) *LTable {
	t := newLTable(acap, hcap)
	if m := ls.G.Limits; m != nil {
		t.limits = m
		m.Charge(newTableBytes(acap, hcap))
	}
	return t
}

// charge counts the growth of a table. When the budget is already exceeded
// it returns false and the caller drops the write: the call is being ended
// (its context is cancelled), and the growth may be huge (t[1e7] = 1).
func (tb *LTable) charge(n int64) bool {
	return tb.limits == nil || tb.limits.Charge(n)
}

// Interrupted returns the cause when the state's context is done, else nil.
// Go functions that loop long call it (or CheckInterrupt) every few thousand
// iterations.
func (ls *LState) Interrupted() error {
	if m := ls.G.Limits; m != nil {
		if err := m.Stopped(); err != nil {
			return err
		}
	}
	if ls.ctx == nil {
		return nil
	}
	if ls.ctxWatched {
		// Err, not Done: a watched context makes its channel only when
		// asked (SetContextWatched)
		if ls.ctx.Err() != nil {
			return ctxCause(ls.ctx)
		}
		return nil
	}
	select {
	case <-ls.ctx.Done():
		return ctxCause(ls.ctx)
	default:
		return nil
	}
}

// CheckInterrupt raises a Lua error when the state's context is done.
func (ls *LState) CheckInterrupt() {
	if err := ls.Interrupted(); err != nil {
		ls.RaiseError("%s", err.Error())
	}
}

// ctxCauseMessage is the error a call whose context is done ends with: the
// cause when one was given (memory budget, process ceiling), else ctx.Err().
func (ls *LState) ctxCauseMessage() string {
	return ctxCause(ls.ctx).Error()
}
