package luavm

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname
)

// nanotime is the runtime's monotonic clock, which time.Since reads; the
// runtime keeps it for linkname users.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// DeadlineCtx is the context of one call with a deadline, like
// context.WithTimeout's but without its costs on the request path: no timer,
// no channel and no registration in the parent. A pooled call's VM never
// asks for Done (Pool.Run watches the context, watch.go), and Err reads the
// deadline as time, so a handler that calls no host module waiting on the
// context pays one allocation. A host module that does wait (a database
// query: pgx registers an AfterFunc, a derived context asks for Done) gets
// a channel, or its function run, when the context ends: at the deadline or
// when the parent is done, as seen by the call watcher, which polls Err of
// such contexts every millisecond (watch.go) — no timer either.
type DeadlineCtx struct {
	parent   context.Context
	deadline int64                         // on the monotonic clock (nanotime): one clock read, where time.Now makes two
	err      atomic.Pointer[error]         // why it is done, once it is
	donep    atomic.Pointer[chan struct{}] // Done's channel, once made

	mu      sync.Mutex
	ended   bool     // end ran: Done's channel is closed, or made closed
	watched bool     // the watcher polls Err (watchDeadline)
	afters  []func() // AfterFunc's functions not yet run or stopped (nil: stopped)
}

// NewDeadline returns a context done timeout from now, or when parent is,
// or when Cancel is called; call Cancel once the call is over.
func NewDeadline(parent context.Context, timeout time.Duration) *DeadlineCtx {
	c := new(DeadlineCtx)
	c.Init(parent, timeout)
	return c
}

// Init makes a zero DeadlineCtx (one embedded in a larger context) what
// NewDeadline returns.
func (c *DeadlineCtx) Init(parent context.Context, timeout time.Duration) {
	now := nanotime()
	c.parent, c.deadline = parent, now+int64(timeout)
	if c.deadline < now { // saturate as time.Add does: math.MaxInt64 is "no limit"
		c.deadline = math.MaxInt64
	}
}

// Deadline is the call's deadline as wall time (now plus what is left of
// it), or the parent's when that is earlier.
func (c *DeadlineCtx) Deadline() (time.Time, bool) {
	d := time.Now().Add(time.Duration(c.deadline - nanotime()))
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		return pd, true
	}
	return d, true
}

func (c *DeadlineCtx) Value(key any) any { return c.parent.Value(key) }

// Err is the parent's error, or DeadlineExceeded once the deadline has
// passed, or Canceled after Cancel; the first one seen stays.
func (c *DeadlineCtx) Err() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	if err := c.parent.Err(); err != nil {
		return c.end(err)
	}
	if nanotime() >= c.deadline {
		return c.end(context.DeadlineExceeded)
	}
	return nil
}

// Done returns a channel closed when the context ends. It is made on the
// first call, and the call watcher then polls Err until it does.
func (c *DeadlineCtx) Done() <-chan struct{} {
	if d := c.donep.Load(); d != nil {
		return *d
	}
	c.mu.Lock()
	if d := c.donep.Load(); d != nil {
		c.mu.Unlock()
		return *d
	}
	d := make(chan struct{})
	c.donep.Store(&d)
	if c.ended {
		close(d)
	}
	watch := c.needsWatchLocked()
	c.mu.Unlock()
	if watch {
		watchDeadline(c)
	}
	return d
}

// AfterFunc runs f in its own goroutine once the context ends, unless stop
// is called first (as context.AfterFunc, which uses it: a context derived
// from this one, pgx's watch of a query, costs no goroutine).
func (c *DeadlineCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	i := len(c.afters)
	c.afters = append(c.afters, f)
	watch := c.needsWatchLocked()
	c.mu.Unlock()
	if watch {
		watchDeadline(c)
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ended || c.afters[i] == nil {
			return false
		}
		c.afters[i] = nil
		return true
	}
}

// needsWatchLocked reports, once, that the watcher must poll Err until the
// context ends; the caller calls watchDeadline after releasing mu (the
// watcher holds its own lock while Err ends a context, which takes mu).
func (c *DeadlineCtx) needsWatchLocked() bool {
	if c.watched || c.ended {
		return false
	}
	c.watched = true
	return true
}

// Cancel ends the context (Canceled unless it is done already). A watched
// context leaves the watcher at its next poll.
func (c *DeadlineCtx) Cancel() { c.end(context.Canceled) }

// end records why the context is done (the first reason stays), closes
// Done's channel if it was made and starts the AfterFunc functions.
func (c *DeadlineCtx) end(err error) error {
	if !c.err.CompareAndSwap(nil, errPtr(err)) {
		return *c.err.Load()
	}
	c.mu.Lock()
	c.ended = true
	d, afters := c.donep.Load(), c.afters
	c.afters = nil
	c.mu.Unlock()
	if d != nil {
		close(*d)
	}
	for _, f := range afters {
		if f != nil {
			go f()
		}
	}
	return err
}

func (c *DeadlineCtx) String() string { return "luavm.DeadlineCtx" }

// errPtr points at err; the usual errors without an allocation.
func errPtr(err error) *error {
	switch err {
	case context.Canceled:
		return &context.Canceled
	case context.DeadlineExceeded:
		return &context.DeadlineExceeded
	}
	p := new(error) // not &err: that would move err to the heap on every path
	*p = err
	return p
}
