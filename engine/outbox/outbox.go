package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Durable events (events.publish) go through an outbox table that every
// engine on the database shares.
//
// vbwd.events_outbox has one row per published event: id (uuid, given to
// handlers for idempotency), name, source plugin, payload (jsonb), status
// (pending → delivered, or dead after MaxAttempts, or parked while a
// subscriber does not run: waiting_for names them), attempts, next_attempt_at
// (backoff), locked_until/locked_by (the lease of the worker delivering it),
// last_error, created_at, delivered_at. vbwd.events_deliveries holds
// (event_id, plugin) for each handler that succeeded in an attempt that did
// not deliver the whole event, so a retry runs only the handlers that failed
// (a plugin registers at most one handler per event name).
//
// vbwd.event_subscriptions remembers which plugin subscribes to which event
// (written from the serving generations' handlers, see subscriptions.go). An
// event whose known subscriber is not running (disabled, failed to build)
// is never marked delivered: once the running handlers succeeded it is
// parked for the missing ones, and goes back to pending when one of them
// serves again, or when ops discard it for them (GET /admin/events/parked,
// POST /admin/events/parked/discard). An event nobody subscribes to is
// delivered at once.
//
// Delivery: each engine runs Workers goroutines. A worker claims up to
// BatchSize due rows in one statement (UPDATE … FROM (SELECT … FOR UPDATE
// SKIP LOCKED)), which counts the attempt and sets a lease (locked_until =
// now() + Lease) instead of holding a transaction open while Lua runs. It
// then runs each event's handlers — those registered when it delivers, in
// plugin order, each bounded by RequestTimeout and by the lease — and records
// the outcomes in one batch: delivered; or back to pending with
// next_attempt_at = now() + BackoffBase·2^(attempt-1) (capped by BackoffMax)
// and last_error; or dead when the attempt was the last. A worker killed mid-
// delivery (SIGKILL, a crash) leaves its rows locked until the lease
// expires; any engine then claims them again: nothing is lost, and a handler
// may see the same event twice (at-least-once; ev.attempt tells). A worker
// of the publishing engine is woken in-process once the publishing
// transaction commits (the wake Start returns; an idle worker first); an
// engine without workers publishes with NOTIFY vbwd_events instead, which
// wakes every worker over a dedicated connection that reconnects with
// backoff. Workers also poll every PollInterval, which is how other
// engines' workers find events they were not woken for, and due retries.
//
// Shutdown closes Config.Quit: a worker finishes the handler it is running (the
// generation's retire waits for it), gives back the rest of its batch
// (lease cleared, attempt not counted) and exits; Shutdown waits for the
// workers through Config.Group. Delivered rows are deleted after Retention.

// EventsChannel is the NOTIFY channel of published events.
const EventsChannel = "vbwd_events"

// EventOptions configures the delivery of durable events. Zero values take
// the documented defaults.
type EventOptions struct {
	// Workers deliver events concurrently in this engine. Default 2;
	// negative: none (the engine still publishes; other engines deliver).
	Workers int
	// BatchSize is how many due events a worker claims at once. Default 64.
	BatchSize int
	// MaxAttempts is the number of attempts after which an event whose
	// handlers still fail is dead-lettered (status dead). Default 8.
	MaxAttempts int
	// BackoffBase is the wait before the second attempt; it doubles with
	// each further attempt. Default 1s.
	BackoffBase time.Duration
	// BackoffMax caps the wait between attempts. Default 5m.
	BackoffMax time.Duration
	// Lease is how long a claimed event stays reserved to its worker: after
	// it, an event whose engine died is claimed again. It also bounds the
	// delivery of a batch. Default max(1m, 3×RequestTimeout).
	Lease time.Duration
	// PollInterval is how often workers look for due events without a
	// notification. Default 1s.
	PollInterval time.Duration
	// Linger is how long a worker woken for a new event waits before it
	// claims, when its previous round found events (a steady stream):
	// the events published meanwhile then take one claim and one record
	// instead of one each. The write benchmark's rate rose by about a
	// quarter with 5ms. Default 5ms; negative: none.
	Linger time.Duration
	// Retention is how long delivered events are kept; negative keeps them
	// forever. Dead events are always kept. Default 7 days.
	Retention time.Duration
}

func (o EventOptions) withDefaults(requestTimeout time.Duration) EventOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	switch {
	case o.Workers < 0:
		o.Workers = 0
	case o.Workers == 0:
		o.Workers = 2
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	def(&o.BackoffBase, time.Second)
	def(&o.BackoffMax, 5*time.Minute)
	def(&o.Lease, max(time.Minute, 3*requestTimeout))
	def(&o.PollInterval, time.Second)
	def(&o.Linger, 5*time.Millisecond)
	def(&o.Retention, 7*24*time.Hour)
	return o
}

const (
	claimSQL = `update vbwd.events_outbox o
	set attempts = o.attempts + 1, locked_until = now() + $2::float8 * interval '1 millisecond', locked_by = $3
	from (select id from vbwd.events_outbox
		where status = 'pending' and next_attempt_at <= now() and (locked_until is null or locked_until <= now())
		order by next_attempt_at limit $1 for update skip locked) due
	where o.id = due.id
	returning o.id::text, o.name, o.source, o.payload, o.attempts, o.created_at,
		case when o.attempts > 1 then array(select d.plugin from vbwd.events_deliveries d where d.event_id = o.id) end`
	deliveredSQL = `update vbwd.events_outbox set status = 'delivered', delivered_at = now(), locked_until = null,
	last_error = null where id = any($1::text[]::uuid[]) and status = 'pending'`
	failedSQL = `update vbwd.events_outbox set status = $2, next_attempt_at = now() + $3::float8 * interval '1 millisecond',
	locked_until = null, last_error = $4 where id = $1::text::uuid and status = 'pending'`
	parkSQL = `update vbwd.events_outbox set status = 'parked', waiting_for = $2::text[], locked_until = null,
	last_error = $3 where id = $1::text::uuid and status = 'pending'`
	releaseSQL = `update vbwd.events_outbox set locked_until = null, attempts = attempts - 1
	where id = any($1::text[]::uuid[]) and status = 'pending'`
	doneSQL = `insert into vbwd.events_deliveries (event_id, plugin)
	select $1::text::uuid, unnest($2::text[]) on conflict do nothing`
	sweepSQL = `delete from vbwd.events_outbox where id in (select id from vbwd.events_outbox
	where status = 'delivered' and delivered_at < now() - $1::float8 * interval '1 millisecond' limit 10000)`
)

// outboxDBTimeout bounds each bookkeeping statement of a worker.
const outboxDBTimeout = 10 * time.Second

// outbox is the delivery side of one engine.
type outbox struct {
	h    Host
	c    Config
	db   *pgxpool.Pool
	o    EventOptions
	wake []chan struct{} // one per worker
	idle []atomic.Bool   // worker i waits for a wake-up
	subs subsCache
}

// outboxEvent is a claimed row.
type outboxEvent struct {
	msg     Event
	created time.Time
	done    []string // plugins that handled it in an earlier attempt
}

// outcome is what one delivery attempt of an event came to.
type outcome struct {
	done      []string // plugins whose handler succeeded
	failed    []string // "plugin: error" of the failing handlers
	waiting   []string // subscribers not running: the event is parked for them
	abandoned bool     // not (fully) attempted: the engine is stopping
}

// Start starts the listener and the delivery workers (the tables exist).
// It returns what wakes a worker for an event this engine has published
// and committed (nil without workers), which never blocks.
func Start(h Host, c Config) (wake func()) {
	ob := newOutbox(h, c)
	if ob.o.Workers == 0 {
		return nil
	}
	ob.wake = make([]chan struct{}, ob.o.Workers)
	for i := range ob.wake {
		ob.wake[i] = make(chan struct{}, 1)
	}
	ob.idle = make([]atomic.Bool, ob.o.Workers)
	c.Group.Add(1 + ob.o.Workers) // Shutdown waits for them
	go ob.listen()
	for i := range ob.o.Workers {
		go ob.work(i)
	}
	return ob.wakeOne
}

func (ob *outbox) stopping() bool {
	select {
	case <-ob.c.Quit:
		return true
	default:
		return false
	}
}

// wakeOne wakes one worker for a new event: an idle one if any (waking
// every worker for every event made all of them but one claim nothing).
// When none is idle it wakes them all: each then claims once more when its
// batch is done, and one that was about to wait does not sleep to its poll
// while another runs a long handler.
func (ob *outbox) wakeOne() {
	for i, w := range ob.wake {
		if ob.idle[i].Load() {
			select {
			case w <- struct{}{}:
				return
			default:
			}
		}
	}
	ob.wakeAll()
}

func (ob *outbox) wakeAll() {
	for _, w := range ob.wake {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// work is one delivery worker: claim a batch, deliver it, repeat while
// batches come full, else wait for a notification or the poll.
func (ob *outbox) work(i int) {
	defer ob.c.Group.Done()
	poll := time.NewTicker(ob.o.PollInterval)
	defer poll.Stop()
	var swept time.Time
	for {
		n, err := ob.round()
		if err != nil {
			ob.c.Log.Warn("events: delivery round failed", "worker", i, "err", err)
		}
		if ob.stopping() {
			return
		}
		if err == nil && n == ob.o.BatchSize {
			continue // more may be due
		}
		if i == 0 && ob.o.Retention >= 0 && time.Since(swept) > time.Minute {
			swept = time.Now()
			ob.sweep()
		}
		ob.idle[i].Store(true)
		select {
		case <-ob.c.Quit:
			return
		case <-ob.wake[i]:
			if n > 0 && !ob.linger(i) {
				return
			}
		case <-poll.C:
		}
		ob.idle[i].Store(false)
	}
}

// linger waits Linger before worker i claims for a wake-up that came while
// events keep coming (its last round found some), so that what is published
// meanwhile is claimed, delivered and recorded in one batch rather than one
// event per round trip; after a quiet spell the first event is claimed at
// once. It reports false when the engine is stopping.
func (ob *outbox) linger(i int) bool {
	if ob.o.Linger <= 0 {
		return true
	}
	ob.idle[i].Store(false) // the next event wakes another worker, if one is idle
	t := time.NewTimer(ob.o.Linger)
	defer t.Stop()
	select {
	case <-ob.c.Quit:
		return false
	case <-t.C:
		return true
	}
}

// round claims due events, delivers them and records the outcomes. It
// returns how many events it claimed.
func (ob *outbox) round() (int, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), outboxDBTimeout)
	subs, err := ob.subscribers(ctx)
	if err != nil {
		cancel()
		return 0, err
	}
	evs, err := ob.claim(ctx)
	cancel()
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	leaseEnd := start.Add(ob.o.Lease - ob.o.Lease/10) // leave slack for clock skew
	minLeft := min(ob.c.RequestTimeout, ob.o.Lease/2)
	outs := make([]outcome, len(evs))
	for i, ev := range evs {
		if ob.stopping() || time.Until(leaseEnd) < minLeft {
			outs[i].abandoned = true
			continue
		}
		outs[i] = ob.deliver(ev, leaseEnd, subs[ev.msg.name])
	}
	ctx, cancel = context.WithTimeout(context.Background(), outboxDBTimeout)
	defer cancel()
	return len(evs), ob.finish(ctx, evs, outs)
}

func (ob *outbox) claim(ctx context.Context) ([]*outboxEvent, error) {
	rows, err := ob.db.Query(ctx, claimSQL, ob.o.BatchSize, float64(ob.o.Lease.Milliseconds()), ob.c.NodeID)
	if err != nil {
		return nil, fmt.Errorf("claiming events: %w", err)
	}
	return collectClaimed(rows)
}

// deliver runs the handlers of ev that have not handled it yet; the known
// subscribers (subs) that have none running are what the event waits for.
func (ob *outbox) deliver(ev *outboxEvent, leaseEnd time.Time, subs []string) (out outcome) {
	ran := map[string]bool{}
	defer func() {
		for _, p := range subs {
			if !ran[p] && !slices.Contains(ev.done, p) && !slices.Contains(out.waiting, p) {
				out.waiting = append(out.waiting, p)
			}
		}
	}()
	for _, ref := range ob.h.Handlers(ev.msg.name) {
		plugin := ref.Plugin
		if slices.Contains(ev.done, plugin) {
			continue
		}
		if ob.stopping() {
			out.abandoned = true
			return out
		}
		deadline := time.Now().Add(ob.c.RequestTimeout)
		if leaseEnd.Before(deadline) {
			deadline = leaseEnd
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		ctx = hostapi.WithRequest(ctx, &hostapi.Request{ID: ev.msg.id})
		handled, err := ref.Run(ctx, &ev.msg)
		cancel()
		ran[plugin] = handled || ran[plugin]
		switch {
		case !handled:
			// the plugin went away meanwhile: it is waited for, never skipped
			out.waiting = append(out.waiting, plugin)
		case errors.Is(err, errs.ErrRetired):
			out.abandoned = true
		case err != nil:
			out.failed = append(out.failed, plugin+": "+err.Error())
			ob.h.Count(plugin, ev.msg.name, "failed")
		default:
			out.done = append(out.done, plugin)
			ob.h.Count(plugin, ev.msg.name, "delivered")
		}
	}
	return out
}

// finish records the outcomes of a batch in one round trip.
func (ob *outbox) finish(ctx context.Context, evs []*outboxEvent, outs []outcome) error {
	b := &pgx.Batch{}
	var delivered, released []string
	for i, ev := range evs {
		out := outs[i]
		switch {
		case len(out.failed) > 0:
			status, wait := "pending", ob.backoff(ev.msg.attempt)
			msg := truncateMsg(strings.Join(out.failed, "; "), 4000)
			if ev.msg.attempt >= ob.o.MaxAttempts {
				status = "dead"
				ob.h.Count(ev.msg.source, ev.msg.name, "dead")
				ob.c.Log.Error("events: event dead-lettered", "event", ev.msg.name, "event_id", ev.msg.id,
					"attempts", ev.msg.attempt, "last_error", msg)
			} else {
				ob.c.Log.Warn("events: delivery failed; retrying", "event", ev.msg.name, "event_id", ev.msg.id,
					"attempt", ev.msg.attempt, "in", wait, "err", msg)
			}
			b.Queue(failedSQL, ev.msg.id, status, float64(wait.Milliseconds()), msg)
		case out.abandoned || (len(out.waiting) > 0 && ob.anyServing(out.waiting)):
			// (a waited-for plugin came back while this batch ran: retry now)
			released = append(released, ev.msg.id)
		case len(out.waiting) > 0:
			ob.h.Count(ev.msg.source, ev.msg.name, "parked")
			ob.c.Log.Info("events: event parked until its subscribers run", "event", ev.msg.name,
				"event_id", ev.msg.id, "waiting_for", out.waiting)
			b.Queue(parkSQL, ev.msg.id, out.waiting, "waiting for "+strings.Join(out.waiting, ", ")+" (not running)")
		default:
			delivered = append(delivered, ev.msg.id)
			continue
		}
		if len(out.done) > 0 {
			b.Queue(doneSQL, ev.msg.id, out.done)
		}
	}
	if len(delivered) > 0 {
		b.Queue(deliveredSQL, delivered)
	}
	if len(released) > 0 {
		b.Queue(releaseSQL, released)
	}
	if err := ob.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("recording deliveries (the events will be retried after their lease): %w", err)
	}
	return nil
}

// backoff is the wait after failed attempt n (1-based).
func (ob *outbox) backoff(n int) time.Duration {
	d := ob.o.BackoffBase
	for i := 1; i < n && d < ob.o.BackoffMax; i++ {
		d *= 2
	}
	return min(d, ob.o.BackoffMax)
}

// sweep deletes delivered events older than the retention.
func (ob *outbox) sweep() {
	ctx, cancel := context.WithTimeout(context.Background(), outboxDBTimeout)
	defer cancel()
	if _, err := ob.db.Exec(ctx, sweepSQL, float64(ob.o.Retention.Milliseconds())); err != nil {
		ob.c.Log.Warn("events: deleting old delivered events failed", "err", err)
	}
}

// listen wakes the workers on every notification, reconnecting with
// backoff when the database goes away.
func (ob *outbox) listen() {
	defer ob.c.Group.Done()
	wake := func(context.Context) error { ob.wakeAll(); return nil }
	ob.h.RunListener(pgcoord.Listener{
		What:      "published events",
		Channel:   EventsChannel,
		OnConnect: wake, // catch up with what was published while not listening
		OnNotify:  func(ctx context.Context, _ *pgconn.Notification) error { return wake(ctx) },
	})
}

// truncateMsg cuts s to about n bytes, dropping a rune cut in half
// (PostgreSQL refuses invalid UTF-8).
func truncateMsg(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
