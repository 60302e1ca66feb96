package web

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Stream tickets are used once (engine/streamauth issues and checks
// them).

// useTicketSQL records a ticket id, and forgets the ones long expired; no
// row back means the ticket was used already.
const useTicketSQL = `with gone as (delete from vbwd.stream_tickets where expires_at < now() - interval '1 minute')
insert into vbwd.stream_tickets (id, expires_at) values ($1, $2) on conflict do nothing returning 1`

// UsedTickets records the stream tickets used: in vbwd.stream_tickets with
// a database (every node sharing it sees them), else in memory.
type UsedTickets struct {
	mu   sync.Mutex
	used map[string]time.Time // id -> expiry
}

func (u *UsedTickets) use(id string, exp, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used == nil {
		u.used = map[string]time.Time{}
	}
	for k, e := range u.used {
		if e.Before(now) {
			delete(u.used, k)
		}
	}
	if _, ok := u.used[id]; ok {
		return false
	}
	u.used[id] = exp
	return true
}

// Use records ticket id (expiring at exp) as used, in db when not nil;
// false when it was used before.
func (u *UsedTickets) Use(ctx context.Context, db *pgxpool.Pool, id string, exp, now time.Time) (bool, error) {
	if db == nil {
		return u.use(id, exp, now), nil
	}
	rows, err := db.Query(ctx, useTicketSQL, id, exp)
	if err != nil {
		return false, err
	}
	fresh := rows.Next()
	rows.Close()
	return fresh, rows.Err()
}
