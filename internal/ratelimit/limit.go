package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is at most N requests per Window.
type Limit struct {
	N      int
	Window time.Duration
}

func (l Limit) String() string {
	for unit, d := range map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour} {
		if l.Window == d {
			return strconv.Itoa(l.N) + "/" + unit
		}
	}
	return fmt.Sprintf("%d/%s", l.N, l.Window)
}

// Key kinds: whom a limit counts.
const (
	KeyIP   = "ip"   // the client address (trusted proxies honoured)
	KeyUser = "user" // the signed-in user; the client address for anonymous calls
)

// MaxN bounds the count of a limit.
const MaxN = 1_000_000

// Parse reads "5/m", "10/s", "100/h" or "1000/d".
func Parse(s string) (Limit, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 || count > MaxN {
		return Limit{}, fmt.Errorf("rate %q: want <count>/<s|m|h|d> with a count in 1..%d, e.g. \"5/m\"", s, MaxN)
	}
	var w time.Duration
	switch unit {
	case "s":
		w = time.Second
	case "m":
		w = time.Minute
	case "h":
		w = time.Hour
	case "d":
		w = 24 * time.Hour
	default:
		return Limit{}, fmt.Errorf("rate %q: the unit must be s, m, h or d", s)
	}
	return Limit{N: count, Window: w}, nil
}

// Store counts hits of a key in the window starting at start, which ends
// at end, and returns the count including this one.
type Store interface {
	Hit(ctx context.Context, key string, start, end time.Time) (int, error)
}

// Limiter judges requests against limits on a store and a clock.
type Limiter struct {
	store Store
	clock func() time.Time
}

// New returns a limiter on store; clock nil is time.Now.
func New(store Store, clock func() time.Time) *Limiter {
	if clock == nil {
		clock = time.Now
	}
	return &Limiter{store: store, clock: clock}
}

// ErrStore wraps a store's failure; the request is allowed.
var ErrStore = errors.New("rate limit store")

// Allow counts a request of key under l. When the limit is exceeded it
// returns false and how long until the window ends (at least a second, for
// Retry-After). A store error allows the request and is returned wrapped in
// ErrStore for the caller to log.
func (rl *Limiter) Allow(ctx context.Context, key string, l Limit) (bool, time.Duration, error) {
	now := rl.clock()
	start := now.Truncate(l.Window)
	end := start.Add(l.Window)
	n, err := rl.store.Hit(ctx, key, start, end)
	if err != nil {
		return true, 0, fmt.Errorf("%w: %w", ErrStore, err)
	}
	if n <= l.N {
		return true, 0, nil
	}
	wait := end.Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return false, wait, nil
}
