package engine

import (
	"context"
	"sync"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
)

// streamListener is the stream relay's Listener.What (stream.go).
const streamListener = "stream events"

// listening records which LISTEN loops have had their first LISTEN (and
// its catch-up) in place.
type listening struct {
	mu sync.Mutex
	up map[string]chan struct{} // closed once in place
}

func (l *listening) ch(what string) chan struct{} {
	if l.up == nil {
		l.up = map[string]chan struct{}{}
	}
	c, ok := l.up[what]
	if !ok {
		c = make(chan struct{})
		l.up[what] = c
	}
	return c
}

func (l *listening) set(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.ch(what)
	select {
	case <-c:
	default:
		close(c)
	}
}

func (l *listening) has(what string) bool {
	select {
	case <-l.wait(what):
		return true
	default:
		return false
	}
}

// wait is closed once what's LISTEN is first in place.
func (l *listening) wait(what string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ch(what)
}

// awaitStreamRelay waits, up to bound, for the stream relay's first LISTEN,
// so that an engine whose Start returned relays the stream events published
// from then on. Past the bound (a database slow to accept the connection)
// Start goes on and readiness says why it is not ready.
func (e *Engine) awaitStreamRelay(ctx context.Context, bound time.Duration) {
	if e.opts.DB == nil {
		return
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-e.listening.wait(streamListener):
	case <-t.C:
		e.log.Warn("the stream relay is not listening yet; not ready until it is", "waited", bound)
	case <-ctx.Done():
	}
}

// runListener runs l until e.quit is closed (engine/pgcoord/listen.go),
// noting when its LISTEN is first in place: readiness waits for the stream
// relay's, or a stream event published right after /readyz answered 200
// would reach no client (NOTIFY is not kept for a listener to come).
func (e *Engine) runListener(l pgcoord.Listener) {
	onConnect := l.OnConnect
	l.OnConnect = func(ctx context.Context) error {
		if onConnect != nil {
			if err := onConnect(ctx); err != nil {
				return err
			}
		}
		e.listening.set(l.What)
		return nil
	}
	pgcoord.Listen(e.opts.DB, e.log, e.quit, l)
}
