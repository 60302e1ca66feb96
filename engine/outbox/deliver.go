package outbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// drainClaimSQL is claimSQL with retries "due" at a given time (the test
// clock, which drainRetimeSQL scheduled them on) rather than the
// database's now(); first attempts are due once published.
const drainClaimSQL = `update vbwd.events_outbox o
	set attempts = o.attempts + 1, locked_until = now() + $2::float8 * interval '1 millisecond', locked_by = $3
	from (select id from vbwd.events_outbox
		where status = 'pending' and next_attempt_at <= case when attempts = 0 then now() else $4::timestamptz end and (locked_until is null or locked_until <= now())
		order by next_attempt_at limit $1 for update skip locked) due
	where o.id = due.id
	returning o.id::text, o.name, o.source, o.payload, o.attempts, o.created_at,
		case when o.attempts > 1 then array(select d.plugin from vbwd.events_deliveries d where d.event_id = o.id) end`

// drainRetimeSQL moves the retry of a failed event from the database's
// clock to the drain's: at + its backoff.
const drainRetimeSQL = `update vbwd.events_outbox set next_attempt_at = $2::timestamptz + (next_attempt_at - now())
	where id = any($1::text[]::uuid[]) and status = 'pending'`

// maxDrainRounds bounds DeliverPending: handlers that publish an event on
// every delivery would otherwise never let it return.
const maxDrainRounds = 100

// DeliverPending delivers, in the calling goroutine, every durable event
// that is pending and due at now, round after round, until none is due
// (events published by handlers meanwhile included). A failing handler's
// retry is scheduled at now plus its backoff, so a later call with a clock
// advanced past it runs the retry. It returns the number of delivery
// attempts made. This is `vbwd test`'s t.deliver(): the test runner's
// engine has no delivery workers (EventOptions.Workers < 0), so delivery
// happens exactly there; elsewhere delivery is asynchronous.
func DeliverPending(ctx context.Context, h Host, c Config, now time.Time) (int, error) {
	if c.DB == nil {
		return 0, errors.New("durable events need a database")
	}
	ob := newOutbox(h, c)
	attempts := 0
	for range maxDrainRounds {
		subs, err := ob.subscribers(ctx)
		if err != nil {
			return attempts, err
		}
		rows, err := ob.db.Query(ctx, drainClaimSQL, ob.o.BatchSize, float64(ob.o.Lease.Milliseconds()), c.NodeID, now)
		if err != nil {
			return attempts, fmt.Errorf("claiming events: %w", err)
		}
		evs, err := collectClaimed(rows)
		if err != nil || len(evs) == 0 {
			return attempts, err
		}
		leaseEnd := time.Now().Add(ob.o.Lease)
		outs := make([]outcome, len(evs))
		var failed []string
		for i, ev := range evs {
			outs[i] = ob.deliver(ev, leaseEnd, subs[ev.msg.name])
			if len(outs[i].failed) > 0 {
				failed = append(failed, ev.msg.id)
			}
		}
		attempts += len(evs)
		if err := ob.finish(ctx, evs, outs); err != nil {
			return attempts, err
		}
		if len(failed) > 0 {
			if _, err := ob.db.Exec(ctx, drainRetimeSQL, failed, now); err != nil {
				return attempts, fmt.Errorf("scheduling retries: %w", err)
			}
		}
	}
	return attempts, fmt.Errorf("events still due after %d delivery rounds: do handlers publish an event on every delivery?", maxDrainRounds)
}

// collectClaimed reads claimed rows (claim, DeliverPending), oldest first.
func collectClaimed(rows pgx.Rows) ([]*outboxEvent, error) {
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*outboxEvent, error) {
		ev := &outboxEvent{}
		err := r.Scan(&ev.msg.id, &ev.msg.name, &ev.msg.source, &ev.msg.raw, &ev.msg.attempt, &ev.created, &ev.done)
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming events: %w", err)
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].created.Before(evs[j].created) })
	return evs, nil
}
