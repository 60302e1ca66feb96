package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaSQL makes the table PGStore counts in, for programs using PGStore
// without the engine (its tests); the engine makes it with its migrations
// (engine/enginedb), which must stay in step.
const SchemaSQL = `create schema if not exists vbwd;
create table if not exists vbwd.rate_limits (
  key          text not null,
  window_start timestamptz not null,
  window_end   timestamptz not null,
  count        integer not null,
  primary key (key, window_start)
);
create index if not exists rate_limits_end_idx on vbwd.rate_limits (window_end);`

// sweepEvery is how often a store deletes the rows of ended windows.
const sweepEvery = time.Minute

// PGStore counts in vbwd.rate_limits, shared by every engine on the database.
type PGStore struct {
	pool      *pgxpool.Pool
	lastSweep atomic.Int64 // unix nanoseconds of the last sweep
}

// NewPGStore returns a store on pool (vbwd.rate_limits made).
func NewPGStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

// Hit increments the key's count in its window with one UPSERT. About once
// a minute per process it also deletes the rows of ended windows, in the
// caller's statement budget (a small indexed delete).
func (s *PGStore) Hit(ctx context.Context, key string, start, end time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `insert into vbwd.rate_limits (key, window_start, window_end, count)
		values ($1, $2, $3, 1)
		on conflict (key, window_start) do update set count = vbwd.rate_limits.count + 1
		returning count`, key, start, end).Scan(&n)
	if err != nil {
		return 0, err
	}
	if last := s.lastSweep.Load(); time.Since(time.Unix(0, last)) > sweepEvery && s.lastSweep.CompareAndSwap(last, time.Now().UnixNano()) {
		// windows are judged on the engine's clock: sweep only what ended
		// before the window just counted began
		_, _ = s.pool.Exec(ctx, `delete from vbwd.rate_limits where window_end < $1`, start)
	}
	return n, nil
}

// MemStore counts in memory: per process, for an engine without a database.
type MemStore struct {
	mu     sync.Mutex
	counts map[memKey]int
	ends   map[memKey]time.Time
}

type memKey struct {
	key   string
	start int64
}

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore {
	return &MemStore{counts: map[memKey]int{}, ends: map[memKey]time.Time{}}
}

// Hit counts key in its window; ended windows are dropped as it goes.
func (s *MemStore) Hit(_ context.Context, key string, start, end time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memKey{key, start.UnixNano()}
	if _, ok := s.counts[k]; !ok && len(s.counts) > 1024 {
		for old, e := range s.ends {
			if !e.After(start) {
				delete(s.counts, old)
				delete(s.ends, old)
			}
		}
	}
	s.counts[k]++
	s.ends[k] = end
	return s.counts[k], nil
}

var (
	_ Store = (*PGStore)(nil)
	_ Store = (*MemStore)(nil)
)
