// Package pgcoord holds the engine's PostgreSQL coordination that needs no engine:
// a LISTEN loop that survives the database going away, the record of which
// loops have their LISTEN in place (InPlace), and the readiness ping.
package pgcoord

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listener keeps a dedicated connection LISTENing on one channel until the
// engine shuts down (Listen), reconnecting with backoff when the database
// goes away.
// The cluster (admin changes), the outbox (published events) and the
// stream broker (server-sent events) each run one.
type Listener struct {
	What    string // for the log: "admin changes", ...
	Channel string
	// OnConnect runs after each LISTEN: catch up with what was missed.
	OnConnect func(ctx context.Context) error
	// OnNotify handles a notification; with Idle set it is also called
	// with nil after Idle without one (a heartbeat).
	OnNotify func(ctx context.Context, n *pgconn.Notification) error
	Idle     time.Duration
}

// Listen runs l on connections of db until quit is closed (it blocks).
func Listen(db *pgxpool.Pool, log *slog.Logger, quit <-chan struct{}, l Listener) {
	backoff := 100 * time.Millisecond
	for {
		connected, err := listenOnce(db, quit, l)
		select {
		case <-quit:
			return // shutting down: any error is the shutdown's
		default:
		}
		if connected {
			backoff = 100 * time.Millisecond
		}
		if err != nil {
			log.Warn("listening for "+l.What+" failed; retrying", "err", err, "in", backoff)
		}
		select {
		case <-quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func listenOnce(db *pgxpool.Pool, quit <-chan struct{}, l Listener) (connected bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	conn, err := pgx.ConnectConfig(ctx, db.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{l.Channel}.Sanitize()); err != nil {
		return false, err
	}
	if l.OnConnect != nil {
		if err := l.OnConnect(ctx); err != nil {
			return true, err
		}
	}
	for {
		wctx, wcancel := ctx, context.CancelFunc(func() {})
		if l.Idle > 0 {
			wctx, wcancel = context.WithTimeout(ctx, l.Idle)
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
		if err := l.OnNotify(ctx, n); err != nil {
			return true, err
		}
	}
}
