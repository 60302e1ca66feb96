package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a bounded, pre-warmed, LIFO pool of Lua states of one plugin
// generation. Its API is one verb: Run.
type Pool struct {
	build func(ctx context.Context) (*State, error)
	sem   chan struct{} // one token per state that may exist

	mu     sync.Mutex
	idle   []*State // LIFO: the most recently used state is the warmest
	closed bool

	created  atomic.Int64 // states alive
	inUse    atomic.Int64
	waits    atomic.Int64 // borrows that had to wait for a token
	waitNano atomic.Int64
	discards atomic.Int64 // states closed after an interrupted call
}

// PoolStats is a snapshot of a pool's counters.
type PoolStats struct {
	Max      int           `json:"max"`
	Size     int64         `json:"size"`
	Idle     int           `json:"idle"`
	InUse    int64         `json:"in_use"`
	Waits    int64         `json:"waits"`
	WaitTime time.Duration `json:"wait_time_ns"`
	Discards int64         `json:"discards"`
}

func newPool(max int, build func(ctx context.Context) (*State, error)) *Pool {
	if max < 1 {
		max = 1
	}
	return &Pool{build: build, sem: make(chan struct{}, max)}
}

// warm parks already built states as idle.
func (p *Pool) warm(states ...*State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range states {
		p.created.Add(1)
		p.idle = append(p.idle, s)
	}
}

// Run borrows a state, runs fn on it under ctx (L.SetContext), and returns
// the state to the pool. A borrow that cannot be served before ctx is done
// returns ErrPoolExhausted. A state whose call was interrupted by ctx is
// discarded rather than reused, as is one ended by a memory limit. The
// call's memory budget starts afresh at each borrow (callGuard.arm).
//
// A call that re-enters the pool — a sync emit, a DI call or an exchanger
// landing on the plugin whose state the current call holds — runs on that
// held state instead of borrowing a second one, which with a small pool
// would wait for itself until the deadline.
func (p *Pool) Run(ctx context.Context, fn func(*State) error) error {
	return p.run(ctx, fn, false)
}

// runFinal is Run for on_disable, which runs after a drain that gave up
// (gen.cancelled): its call is bounded by ctx alone, not cancelled with
// the calls it outlived.
func (p *Pool) runFinal(ctx context.Context, fn func(*State) error) error {
	return p.run(ctx, fn, true)
}

func (p *Pool) run(ctx context.Context, fn func(*State) error, final bool) error {
	if s, ok := ctx.Value(heldStateKey{p}).(*State); ok {
		return runHeld(ctx, s, fn)
	}
	if err := p.acquire(ctx); err != nil {
		return err
	}
	s, err := p.take(ctx)
	if err != nil {
		<-p.sem
		return err
	}
	p.inUse.Add(1)
	if s.guard == nil {
		s.guard = newCallGuard(s.L, s.gen.Plugin)
	}
	s.guard.arm(s.gen.memoryBudget())
	hc := &heldCtx{Context: ctx, s: s, final: final}
	s.L.SetContext(hc)
	err = fn(s)
	s.L.RemoveContext()
	discard := hc.Err() != nil || s.broken || s.guard.stopped() // interrupted, or over a memory limit
	err = s.guard.done(err)
	p.inUse.Add(-1)
	p.put(s, discard)
	<-p.sem
	return err
}

// runHeld runs a re-entrant call on the state its caller holds, under the
// nested call's context (emit depth, DI call chain), restoring the outer
// one after.
func runHeld(ctx context.Context, s *State, fn func(*State) error) error {
	outer := s.L.Context()
	s.L.SetContext(ctx)
	defer s.L.SetContext(outer)
	return fn(s)
}

// heldStateKey keys, in a call's context, the state of pool the call (or a
// call up its chain: a -> b -> a) holds.
type heldStateKey struct{ pool *Pool }

// heldCtx is the context a borrowed state runs under: the caller's, plus
// the state itself for re-entrant calls to find, plus the generation's
// cancellation. When retirement gives up waiting for in-flight calls, it
// sets gen.cancelled: from then on Done is a closed channel and Err
// errDrainCancelled, and the Lua VM, which polls Done at every
// instruction, stops at the next one. (Done changes value only then; a
// child context made before keeps the caller's deadline. This costs no
// allocation, no goroutine and no registration per call, where a
// WithCancel plus AfterFunc per call cost about 2 µs.)
type heldCtx struct {
	context.Context
	s     *State
	final bool // on_disable: not cancelled by the drain timeout
}

var errDrainCancelled = errors.New("cancelled: the plugin generation was retired while this call ran past the drain timeout")

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *heldCtx) Done() <-chan struct{} {
	if !c.final && c.s.gen.cancelled.Load() {
		return closedChan
	}
	return c.Context.Done()
}

func (c *heldCtx) Err() error {
	if !c.final && c.s.gen.cancelled.Load() {
		return errDrainCancelled
	}
	return c.Context.Err()
}

func (c *heldCtx) Value(key any) any {
	if k, ok := key.(heldStateKey); ok && k.pool == c.s.gen.pool {
		return c.s
	}
	return c.Context.Value(key)
}

func (p *Pool) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	start := time.Now()
	p.waits.Add(1)
	defer func() { p.waitNano.Add(int64(time.Since(start))) }()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrPoolExhausted
	}
}

func (p *Pool) take(ctx context.Context) (*State, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrPoolClosed
	}
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()
	s, err := p.build(ctx)
	if err != nil {
		return nil, err
	}
	p.created.Add(1)
	return s, nil
}

func (p *Pool) put(s *State, discard bool) {
	p.mu.Lock()
	if discard || p.closed {
		p.mu.Unlock()
		p.discards.Add(1)
		p.created.Add(-1)
		s.close()
		return
	}
	p.idle = append(p.idle, s)
	p.mu.Unlock()
}

// Close waits until every borrowed state is returned (or ctx is done), then
// closes all states. Later Runs fail with ErrPoolClosed.
func (p *Pool) Close(ctx context.Context) error {
	held := 0
	var err error
	for held < cap(p.sem) {
		select {
		case p.sem <- struct{}{}:
			held++
		case <-ctx.Done():
			err = ctx.Err()
			held = cap(p.sem)
		}
	}
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, s := range idle {
		p.created.Add(-1)
		s.close()
	}
	return err
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{
		Max: cap(p.sem), Size: p.created.Load(), Idle: idle, InUse: p.inUse.Load(),
		Waits: p.waits.Load(), WaitTime: time.Duration(p.waitNano.Load()), Discards: p.discards.Load(),
	}
}
