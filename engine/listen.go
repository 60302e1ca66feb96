package engine

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// listener keeps a dedicated connection LISTENing on one channel until the
// engine shuts down, reconnecting with backoff when the database goes away.
// The cluster (admin changes), the outbox (published events) and the
// stream broker (server-sent events) each run one.
type listener struct {
	what    string // for the log: "admin changes", ...
	channel string
	// onConnect runs after each LISTEN: catch up with what was missed.
	onConnect func(ctx context.Context) error
	// onNotify handles a notification; with idle set it is also called
	// with nil after idle without one (a heartbeat).
	onNotify func(ctx context.Context, n *pgconn.Notification) error
	idle     time.Duration
}

// runListener blocks until e.quit is closed.
func (e *Engine) runListener(l listener) {
	backoff := 100 * time.Millisecond
	for {
		connected, err := e.listenOnce(l)
		select {
		case <-e.quit:
			return // shutting down: any error is the shutdown's
		default:
		}
		if connected {
			backoff = 100 * time.Millisecond
		}
		if err != nil {
			e.log.Warn("listening for "+l.what+" failed; retrying", "err", err, "in", backoff)
		}
		select {
		case <-e.quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (e *Engine) listenOnce(l listener) (connected bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	conn, err := pgx.ConnectConfig(ctx, e.opts.DB.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false, err
	}
	if l.onConnect != nil {
		if err := l.onConnect(ctx); err != nil {
			return true, err
		}
	}
	for {
		wctx, wcancel := ctx, context.CancelFunc(func() {})
		if l.idle > 0 {
			wctx, wcancel = context.WithTimeout(ctx, l.idle)
		}
		n, err := conn.WaitForNotification(wctx)
		wcancel()
		switch {
		case ctx.Err() != nil:
			return true, nil
		case err != nil && wctx.Err() == nil:
			return true, err
		case err != nil:
			n = nil // idle: a heartbeat
		}
		if err := l.onNotify(ctx, n); err != nil {
			return true, err
		}
	}
}
