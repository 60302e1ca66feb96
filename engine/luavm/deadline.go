package luavm

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DeadlineCtx is the context of one call with a deadline, like
// context.WithTimeout's but without its costs on the request path: no timer,
// no channel and no registration in the parent until something asks for
// Done. A pooled call's VM does not (Pool.Run watches the context and
// Err reads the deadline as time), so a handler that calls no host module
// waiting on Done pays one allocation. A host module that does (a database
// query) gets a channel closed at the deadline or when the parent is done,
// as from WithTimeout.
type DeadlineCtx struct {
	parent   context.Context
	deadline time.Time
	err      atomic.Pointer[error]         // why it is done, once it is
	donep    atomic.Pointer[chan struct{}] // Done's channel, once made

	mu      sync.Mutex
	ended   bool        // end ran: Done's channel is closed, or made closed
	timer   *time.Timer // closes Done's channel at the deadline
	unwatch func() bool // stops the parent's AfterFunc, which closes it too
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
	c.parent, c.deadline = parent, time.Now().Add(timeout)
}

func (c *DeadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

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
	if !time.Now().Before(c.deadline) {
		return c.end(context.DeadlineExceeded)
	}
	return nil
}

// Done returns a channel closed when Err becomes non-nil. It is made on the
// first call, with a timer for the deadline and a watch on the parent.
func (c *DeadlineCtx) Done() <-chan struct{} {
	if d := c.donep.Load(); d != nil {
		return *d
	}
	c.Err() // outside mu: it may end the context, and end takes mu
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.donep.Load(); d != nil {
		return *d
	}
	d := make(chan struct{})
	c.donep.Store(&d)
	if c.ended {
		close(d)
		return d
	}
	expire := func() { c.Err() }
	c.timer = time.AfterFunc(time.Until(c.deadline), expire)
	c.unwatch = context.AfterFunc(c.parent, expire)
	return d
}

// Cancel ends the context (Canceled unless it is done already) and frees
// its timer and its watch on the parent.
func (c *DeadlineCtx) Cancel() { c.end(context.Canceled) }

// end records why the context is done (the first reason stays) and closes
// Done's channel if it was made.
func (c *DeadlineCtx) end(err error) error {
	if !c.err.CompareAndSwap(nil, errPtr(err)) {
		return *c.err.Load()
	}
	c.mu.Lock()
	c.ended = true
	d, t, unwatch := c.donep.Load(), c.timer, c.unwatch
	c.timer, c.unwatch = nil, nil
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	if unwatch != nil {
		unwatch()
	}
	if d != nil {
		close(*d)
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
	return &err
}
