package pgcoord

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Ping checks that the database answers, within 2s.
func Ping(ctx context.Context, db *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := db.Ping(ctx)
	if err != nil && ctx.Err() == nil {
		// one pooled connection the server dropped (a restart) fails once
		// and is discarded: ask again on another before reporting an outage
		err = db.Ping(ctx)
	}
	return err
}
