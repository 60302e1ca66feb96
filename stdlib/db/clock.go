package db

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The test clock in SQL. PostgreSQL's now() and current_timestamp read the
// server's clock and cannot be redirected, so the engine offers
// vbwd_now(): now() in production, and the engine's clock where one is set
// (`vbwd test`, whose t.time moves it). With Options.Clock the module sets
// the session setting vbwd.now on the connection before every statement;
// vbwd_now() reads it. Plugins write vbwd_now() wherever a test needs to
// control the time they store or compare (column defaults included).

// NowFunctionSQL creates public.vbwd_now(); the engine runs it at start.
// stable, like now(): one value per statement, so indexes can use it.
const NowFunctionSQL = `create or replace function public.vbwd_now() returns timestamptz
language sql stable parallel safe as
$$ select coalesce(nullif(current_setting('vbwd.now', true), '')::timestamptz, now()) $$`

// setNowSQL sets vbwd.now for the session (false: not only until the end
// of the transaction, since a statement outside db.tx has no transaction
// of its own to scope it to); every statement sets it afresh.
const setNowSQL = `select set_config('vbwd.now', $1, false)`

// withClock returns where a statement should run so that vbwd_now() reads
// the module's clock, and what to call once the statement is done. Without
// a clock q is returned as it is. A pool is pinned to one connection: the
// setting must be on the connection the statement runs on.
func (m *Module) withClock(ctx context.Context, q querier) (querier, func(), error) {
	if m.opts.Clock == nil {
		return q, func() {}, nil
	}
	now := m.opts.Clock().UTC().Format(time.RFC3339Nano)
	if p, ok := q.(*pgxpool.Pool); ok {
		conn, err := p.Acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		if _, err := conn.Exec(ctx, setNowSQL, now); err != nil {
			conn.Release()
			return nil, nil, err
		}
		return conn, conn.Release, nil
	}
	if _, err := q.Exec(ctx, setNowSQL, now); err != nil {
		return nil, nil, err
	}
	return q, func() {}, nil
}
