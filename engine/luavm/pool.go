package luavm

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
)

// Pool is a bounded, pre-warmed, LIFO pool of Lua states of one plugin
// generation. Its API is one verb: Run.
type Pool[S Stater] struct {
	cfg   PoolConfig
	build func(ctx context.Context) (S, error)
	sem   chan struct{} // one token per state that may exist
	key   any           // heldStateKey{p}, boxed once: boxing it per call allocated

	mu     sync.Mutex
	idle   []S // LIFO: the most recently used state is the warmest
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

// PoolConfig is what a pool bounds its calls with.
type PoolConfig struct {
	Plugin string // whose calls they are (memory errors, the watchdog)
	Max    int    // states that may exist at once
	Budget int64  // what one call may allocate (0: DefaultMemoryBudget)
	// Cancelled, once set, interrupts every call still running (the
	// generation's retirement gave up waiting for them); nil: never.
	Cancelled *atomic.Bool
}

// NewPool makes a pool whose states build makes.
func NewPool[S Stater](cfg PoolConfig, build func(ctx context.Context) (S, error)) *Pool[S] {
	if cfg.Max < 1 {
		cfg.Max = 1
	}
	if cfg.Cancelled == nil {
		cfg.Cancelled = new(atomic.Bool)
	}
	p := &Pool[S]{cfg: cfg, build: build, sem: make(chan struct{}, cfg.Max)}
	p.key = heldStateKey{p}
	return p
}

// Warm parks already built states as idle.
func (p *Pool[S]) Warm(states ...S) {
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
func (p *Pool[S]) Run(ctx context.Context, fn func(S) error) error {
	return p.run(ctx, fn, false)
}

// RunFinal is Run for on_disable, which runs after a drain that gave up
// (PoolConfig.Cancelled): its call is bounded by ctx alone, not cancelled
// with the calls it outlived.
func (p *Pool[S]) RunFinal(ctx context.Context, fn func(S) error) error {
	return p.run(ctx, fn, true)
}

func (p *Pool[S]) run(ctx context.Context, fn func(S) error, final bool) error {
	if s, ok := ctx.Value(p.key).(S); ok {
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
	vm := s.Core()
	if vm.guard == nil {
		vm.guard = newCallGuard(vm.L, p.cfg.Plugin)
	}
	vm.guard.arm(p.cfg.Budget)
	hc := &heldCtx[S]{Context: ctx, s: s, p: p, final: final}
	lim := vm.L.G.Limits
	if lim != nil {
		// the watcher stops the call when hc is done (watch.go): the VM
		// checks only lim at each instruction
		vm.L.SetContextWatched(hc)
		if vm.slot == nil {
			vm.slot = newCallSlot(lim)
		}
		watchCall(vm.slot, hc)
	} else {
		vm.L.SetContext(hc)
	}
	panicked := true
	defer func() {
		if panicked { // Go code around the call panicked (net/http recovers)
			if lim != nil {
				unwatchCall(vm.slot)
			}
			vm.L.RemoveContext()
			p.inUse.Add(-1)
			p.put(s, true) // a state a panic went through is not reused
			<-p.sem
		}
	}()
	err = fn(s)
	panicked = false
	if lim != nil {
		unwatchCall(vm.slot)
	}
	vm.L.RemoveContext()
	// interrupted, or over a memory limit. The context is read even for a
	// watched call that the watcher did not stop: a builtin (table.sort, a
	// pattern) or a re-entrant call reads it itself and raises at the
	// deadline, and the call may catch that and return before the next poll
	discard := hc.Err() != nil || vm.Broken || vm.guard.stopped()
	err = vm.guard.done(err)
	p.inUse.Add(-1)
	p.put(s, discard)
	<-p.sem
	return err
}

// runHeld runs a re-entrant call on the state its caller holds, under the
// nested call's context (emit depth, DI call chain), restoring the outer
// one after.
func runHeld[S Stater](ctx context.Context, s S, fn func(S) error) error {
	L := s.Core().L
	outer, watched := L.Context(), L.ContextWatched()
	L.SetContext(ctx) // checked at each instruction: only the outer call is watched
	defer func() {
		if watched {
			L.SetContextWatched(outer)
		} else {
			L.SetContext(outer)
		}
	}()
	return fn(s)
}

// heldStateKey keys, in a call's context, the state of pool the call (or a
// call up its chain: a -> b -> a) holds.
type heldStateKey struct{ pool any }

// heldCtx is the context a borrowed state runs under: the caller's, plus
// the state itself for re-entrant calls to find, plus the generation's
// cancellation. When retirement gives up waiting for in-flight calls, it
// sets PoolConfig.Cancelled: from then on Done is a closed channel and Err
// errDrainCancelled, and the Lua VM, which polls Done at every
// instruction, stops at the next one. (Done changes value only then; a
// child context made before keeps the caller's deadline. This costs no
// allocation, no goroutine and no registration per call, where a
// WithCancel plus AfterFunc per call cost about 2 µs.)
type heldCtx[S Stater] struct {
	context.Context
	s     S
	p     *Pool[S]
	final bool // on_disable: not cancelled by the drain timeout
}

var errDrainCancelled = errors.New("cancelled: the plugin generation was retired while this call ran past the drain timeout")

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *heldCtx[S]) Done() <-chan struct{} {
	if !c.final && c.p.cfg.Cancelled.Load() {
		return closedChan
	}
	return c.Context.Done()
}

func (c *heldCtx[S]) Err() error {
	if !c.final && c.p.cfg.Cancelled.Load() {
		return errDrainCancelled
	}
	return c.Context.Err()
}

// AfterFunc lets a context derived from the call's, or pgx's watch of a
// query, register with the caller's context (a DeadlineCtx: no goroutine
// and no timer) where context.AfterFunc would start a goroutine for a
// context type of its own. Like Done before the drain gives up, it follows
// the caller's context.
func (c *heldCtx[S]) AfterFunc(f func()) func() bool {
	if !c.final && c.p.cfg.Cancelled.Load() {
		go f()
		return func() bool { return false }
	}
	if a, ok := c.Context.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(c.Context, f)
}

func (c *heldCtx[S]) Value(key any) any {
	if k, ok := key.(heldStateKey); ok && k.pool == any(c.p) {
		return c.s
	}
	return c.Context.Value(key)
}

func (p *Pool[S]) acquire(ctx context.Context) error {
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
		return errs.ErrPoolExhausted
	}
}

func (p *Pool[S]) take(ctx context.Context) (S, error) {
	var none S
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return none, errs.ErrPoolClosed
	}
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle[n-1] = none
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()
	s, err := p.build(ctx)
	if err != nil {
		return none, err
	}
	p.created.Add(1)
	return s, nil
}

func (p *Pool[S]) put(s S, discard bool) {
	p.mu.Lock()
	if discard || p.closed {
		p.mu.Unlock()
		p.discards.Add(1)
		p.created.Add(-1)
		s.Core().Close()
		return
	}
	p.idle = append(p.idle, s)
	p.mu.Unlock()
}

// Close waits until every borrowed state is returned (or ctx is done), then
// closes all states. Later Runs fail with ErrPoolClosed.
func (p *Pool[S]) Close(ctx context.Context) error {
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
		s.Core().Close()
	}
	return err
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool[S]) Stats() PoolStats {
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	return PoolStats{
		Max: cap(p.sem), Size: p.created.Load(), Idle: idle, InUse: p.inUse.Load(),
		Waits: p.waits.Load(), WaitTime: time.Duration(p.waitNano.Load()), Discards: p.discards.Load(),
	}
}
