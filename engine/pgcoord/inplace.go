package pgcoord

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// InPlace records which LISTEN loops have had their first LISTEN (and its
// catch-up) in place. Its zero value is ready for use.
type InPlace struct {
	mu sync.Mutex
	up map[string]chan struct{} // closed once in place
}

func (ip *InPlace) ch(what string) chan struct{} {
	if ip.up == nil {
		ip.up = map[string]chan struct{}{}
	}
	c, ok := ip.up[what]
	if !ok {
		c = make(chan struct{})
		ip.up[what] = c
	}
	return c
}

func (ip *InPlace) set(what string) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	c := ip.ch(what)
	select {
	case <-c:
	default:
		close(c)
	}
}

// Has reports whether what's LISTEN is in place.
func (ip *InPlace) Has(what string) bool {
	select {
	case <-ip.Wait(what):
		return true
	default:
		return false
	}
}

// Wait is closed once what's LISTEN is first in place.
func (ip *InPlace) Wait(what string) <-chan struct{} {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	return ip.ch(what)
}

// Listen runs l until quit is closed (Listen), noting when its LISTEN is
// first in place: the engine's readiness waits for the stream relay's, or a
// stream event published right after /readyz answered 200 would reach no
// client (NOTIFY is not kept for a listener to come).
func (ip *InPlace) Listen(db *pgxpool.Pool, log *slog.Logger, quit <-chan struct{}, l Listener) {
	onConnect := l.OnConnect
	l.OnConnect = func(ctx context.Context) error {
		if onConnect != nil {
			if err := onConnect(ctx); err != nil {
				return err
			}
		}
		ip.set(l.What)
		return nil
	}
	Listen(db, log, quit, l)
}
