package luavm

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// The call watcher ends pooled calls whose context is done. A pooled call
// runs with its context set by L.SetContextWatched: the VM then checks, at
// each instruction, only the call's lua.Limits (one atomic load) rather
// than ctx.Done() through the whole context chain, and the request's
// context needs no timer and no channel (Deadline: a deadline read as
// time). The watcher polls the contexts of the running calls every
// watchInterval and stops (lua.Limits.Stop) those that are done — past
// their deadline, cancelled by their client, or drain-cancelled (heldCtx)
// — at most watchInterval late. It also ends the DeadlineCtx contexts a
// host module waits on (Done, AfterFunc), in place of a timer each. It runs
// only while there is something to watch.
const watchInterval = time.Millisecond

// dropIdleSlot is how many passes in a row a slot must be found idle before
// the watcher forgets it (a closed state's slot among them); its state's
// next call lists it again.
const dropIdleSlot = 1000

// callSlot is a pooled state's place in the watcher: the context of the
// call the state runs, nil between calls. A call sets and clears it under
// the slot's own lock, which only the watcher's poll also takes: a pooled
// call no longer takes a process-wide lock and changes a map twice (what
// watchCall and unwatchCall cost when every call registered itself).
type callSlot struct {
	lim    *lua.Limits
	mu     sync.Mutex
	ctx    context.Context // under mu
	listed bool            // in watcher.slots; under mu (written with watcher.mu held too)
	idle   int             // passes in a row that found no call; the watcher's own
}

func newCallSlot(lim *lua.Limits) *callSlot { return &callSlot{lim: lim} }

var watcher = struct {
	mu        sync.Mutex
	slots     []*callSlot               // states with a call now or in the last dropIdleSlot passes
	deadlines map[*DeadlineCtx]struct{} // contexts whose Done or AfterFunc was asked for
	running   atomic.Bool               // set under mu
}{deadlines: map[*DeadlineCtx]struct{}{}}

// watchCall has the watcher stop the slot's state's call (through its
// lua.Limits) when ctx is done, until unwatchCall.
func watchCall(slot *callSlot, ctx context.Context) {
	slot.mu.Lock()
	slot.ctx = ctx
	listed := slot.listed
	slot.mu.Unlock()
	// running is read after ctx is set: a watcher that is about to stop
	// sets running to false, then looks at the slots again (watchLoop)
	if !listed || !watcher.running.Load() {
		watcher.mu.Lock()
		slot.mu.Lock()
		if !slot.listed {
			slot.listed = true
			watcher.slots = append(watcher.slots, slot)
		}
		slot.mu.Unlock()
		startWatcherLocked()
		watcher.mu.Unlock()
	}
}

// unwatchCall ends the watch: after it returns, the watcher never stops the
// state for this call (its next call is armed afresh).
func unwatchCall(slot *callSlot) {
	slot.mu.Lock()
	slot.ctx = nil
	slot.mu.Unlock()
}

// watchDeadline has the watcher poll c.Err until c ends (DeadlineCtx.Done);
// the watcher forgets it then. c.end never takes watcher.mu (a lock order
// kept from when the watcher ended contexts with watcher.mu held).
func watchDeadline(c *DeadlineCtx) {
	watcher.mu.Lock()
	watcher.deadlines[c] = struct{}{}
	startWatcherLocked()
	watcher.mu.Unlock()
}

func startWatcherLocked() {
	if !watcher.running.Load() {
		watcher.running.Store(true)
		go watchLoop()
	}
}

// testHookWatcherIdle runs when a pass found nothing to watch, before the
// watcher stops (watcher.mu held): a test starts a call there.
var testHookWatcherIdle func()

// watchedCall is a running call as a poll saw it.
type watchedCall struct {
	slot *callSlot
	ctx  context.Context
}

// busyLocked collects the running calls (watcher.mu held) and forgets the
// slots idle for dropIdleSlot passes.
func busyLocked(calls []watchedCall) []watchedCall {
	kept := watcher.slots[:0]
	for _, sl := range watcher.slots {
		sl.mu.Lock()
		ctx := sl.ctx
		if ctx == nil {
			sl.idle++
			if sl.idle >= dropIdleSlot {
				sl.listed = false // its next call lists it again
				sl.idle = 0
				sl.mu.Unlock()
				continue
			}
		} else {
			sl.idle = 0
			calls = append(calls, watchedCall{sl, ctx})
		}
		sl.mu.Unlock()
		kept = append(kept, sl)
	}
	clear(watcher.slots[len(kept):])
	watcher.slots = kept
	return calls
}

// watchLoop polls until no call is left, then ends (a later call starts it
// again), so an idle process keeps no ticking goroutine. Each pass collects
// the running calls under watcher.mu and reads their contexts without it.
func watchLoop() {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	var calls, stops []watchedCall // reused from pass to pass
	var deadlines, ended []*DeadlineCtx
	for range t.C {
		watcher.mu.Lock()
		calls, deadlines = busyLocked(calls[:0]), deadlines[:0]
		if len(calls) == 0 && len(watcher.deadlines) == 0 {
			if testHookWatcherIdle != nil {
				testHookWatcherIdle()
			}
			// a call that set its slot's context after the pass above
			// either sees running false and starts a watcher, or is
			// seen by this second look (its context is set before it
			// reads running)
			watcher.running.Store(false)
			if calls = busyLocked(calls[:0]); len(calls) == 0 {
				watcher.mu.Unlock()
				return
			}
			watcher.running.Store(true)
		}
		for c := range watcher.deadlines {
			deadlines = append(deadlines, c)
		}
		watcher.mu.Unlock()

		stops, ended = stops[:0], ended[:0]
		for _, w := range calls {
			if w.ctx.Err() != nil && w.slot.lim.Stopped() == nil {
				stops = append(stops, w)
			}
		}
		for _, c := range deadlines {
			if c.Err() != nil { // ended now (Err ends it) or before (Cancel)
				ended = append(ended, c)
			}
		}
		for _, w := range stops {
			// still the call seen above: once unwatchCall returned, the
			// state's next call (a new context) must not be stopped
			w.slot.mu.Lock()
			if w.slot.ctx == w.ctx {
				w.slot.lim.Stop(ctxCause(w.ctx))
			}
			w.slot.mu.Unlock()
		}
		if len(ended) > 0 {
			watcher.mu.Lock()
			for _, c := range ended {
				delete(watcher.deadlines, c)
			}
			watcher.mu.Unlock()
		}
		clear(calls[:cap(calls)]) // hold no context past its call
		clear(stops[:cap(stops)])
		clear(deadlines[:cap(deadlines)])
		clear(ended[:cap(ended)])
	}
}

// ctxCause is why ctx is done: its cause when one was given, else its Err.
func ctxCause(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return ctx.Err()
}
