package luavm

import (
	"context"
	"sync"
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

var watcher = struct {
	mu        sync.Mutex
	calls     map[*lua.Limits]context.Context
	deadlines map[*DeadlineCtx]struct{} // contexts whose Done or AfterFunc was asked for
	running   bool
}{calls: map[*lua.Limits]context.Context{}, deadlines: map[*DeadlineCtx]struct{}{}}

// watchCall has the watcher stop lim's call when ctx is done, until
// unwatchCall.
func watchCall(lim *lua.Limits, ctx context.Context) {
	watcher.mu.Lock()
	watcher.calls[lim] = ctx
	startWatcherLocked()
	watcher.mu.Unlock()
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
	if !watcher.running {
		watcher.running = true
		go watchLoop()
	}
}

// unwatchCall ends the watch: after it returns, the watcher never stops lim
// for this call (its next call is armed afresh).
func unwatchCall(lim *lua.Limits) {
	watcher.mu.Lock()
	delete(watcher.calls, lim)
	watcher.mu.Unlock()
}

// watchedCall is one entry of watcher.calls, as a poll saw it.
type watchedCall struct {
	lim *lua.Limits
	ctx context.Context
}

// watchLoop polls until no call is left, then ends (a later call starts it
// again), so an idle process keeps no ticking goroutine. Each pass copies
// the entries under watcher.mu and reads the contexts without it: with
// thousands of calls running, reading every context under the lock held
// watchCall and unwatchCall (every pooled call) for most of the tick.
func watchLoop() {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	var calls, stops []watchedCall // reused from pass to pass
	var deadlines, ended []*DeadlineCtx
	for range t.C {
		watcher.mu.Lock()
		if len(watcher.calls) == 0 && len(watcher.deadlines) == 0 {
			watcher.running = false
			watcher.mu.Unlock()
			return
		}
		calls, deadlines = calls[:0], deadlines[:0]
		for lim, ctx := range watcher.calls {
			calls = append(calls, watchedCall{lim, ctx})
		}
		for c := range watcher.deadlines {
			deadlines = append(deadlines, c)
		}
		watcher.mu.Unlock()

		stops, ended = stops[:0], ended[:0]
		for _, w := range calls {
			if w.ctx.Err() != nil && w.lim.Stopped() == nil {
				stops = append(stops, w)
			}
		}
		for _, c := range deadlines {
			if c.Err() != nil { // ended now (Err ends it) or before (Cancel)
				ended = append(ended, c)
			}
		}
		if len(stops) > 0 || len(ended) > 0 {
			watcher.mu.Lock()
			for _, w := range stops {
				// still the call seen above: once unwatchCall returned, the
				// state's next call (a new context) must not be stopped
				if watcher.calls[w.lim] == w.ctx {
					w.lim.Stop(ctxCause(w.ctx))
				}
			}
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
