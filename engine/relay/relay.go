// Package relay carries the server-sent events a plugin publishes to the
// subscribers of every engine sharing the database: vbwd.stream.publish
// NOTIFYs a signed event, and each engine's relay LISTENs and hands it to
// its broker. It also owns the end of every open stream at shutdown.
package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
	"github.com/vbwd-platform/vbwd-engine/engine/streamauth"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// Server-Sent Events without holding a Lua state: a route registered with
// the option stream = true runs its handler like any other (auth, checks,
// replay of recent events) and returns {channel = "<plugin>.<name>",
// events = {...}}; the engine then gives the state back and keeps the
// connection itself, subscribed to the channel. vbwd.stream.publish(channel,
// data, event) from any state of the plugin reaches every subscriber — on
// every engine sharing the database, through NOTIFY.

// The serving side (the subscription a stream route's handler returns, the
// connection kept after it) is engine/serve's stream.go.

// Channel is the NOTIFY channel of stream events.
const Channel = "vbwd_stream"

// Listener is the stream relay's pgcoord.Listener.What; readiness waits for
// its LISTEN.
const Listener = "stream events"

// Config is what the engine gives its relay, once.
type Config struct {
	DB     *pgxpool.Pool // nil: events reach this engine's subscribers only
	Broker *web.Broker
	// Locked runs fn under the migration lock (the first engine makes the
	// signing key: streamauth.LoadKey).
	Locked  func(ctx context.Context, fn func() error) error
	InPlace *pgcoord.InPlace // the engine's LISTEN loops, for readiness
	Log     *slog.Logger
	Quit    <-chan struct{} // closed at shutdown: the relay stops
	Group   *sync.WaitGroup // Shutdown waits for the relay on it
}

// Relay is one engine's stream relay.
type Relay struct {
	cfg Config
	// key signs stream notifications between engines (engine/streamauth).
	key []byte
	// done is closed when shutdown begins: event streams end first.
	done     chan struct{}
	doneOnce sync.Once
}

// New makes the relay; Start starts relaying.
func New(cfg Config) *Relay { return &Relay{cfg: cfg, done: make(chan struct{})} }

// Publish sends an event to a channel's subscribers on every engine sharing
// the database (or on this engine without one).
func (r *Relay) Publish(ctx context.Context, ev web.StreamEvent) error {
	if r.cfg.DB == nil {
		r.cfg.Broker.Deliver(ev)
		return nil
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if len(payload) > 7900-streamauth.SigLen {
		return fmt.Errorf("stream event of %d bytes: at most about 7.9 kB (PostgreSQL NOTIFY)", len(payload))
	}
	_, err = r.cfg.DB.Exec(ctx, "select pg_notify($1, $2)", Channel, streamauth.Sign(r.key, payload))
	return err
}

// listen relays NOTIFYd stream events to this engine's subscribers.
func (r *Relay) listen() {
	defer r.cfg.Group.Done()
	r.cfg.InPlace.Listen(r.cfg.DB, r.cfg.Log, r.cfg.Quit, pgcoord.Listener{
		What:    Listener,
		Channel: Channel,
		OnNotify: func(_ context.Context, n *pgconn.Notification) error {
			var ev web.StreamEvent
			payload, ok := streamauth.Verify(r.key, n.Payload)
			if !ok {
				r.cfg.Log.Warn("stream events: dropped a notification without a valid signature (sent by other SQL than an engine's)", "pid", n.PID)
				return nil
			}
			if json.Unmarshal(payload, &ev) == nil {
				r.cfg.Broker.Deliver(ev)
			}
			return nil
		},
	})
}

// Publisher adapts the relay to vbwd.stream.
type Publisher struct{ R *Relay }

func (p Publisher) Publish(ctx context.Context, channel, event, id, data string) error {
	if err := web.CheckSSEField("id", id); err != nil {
		return err
	}
	if err := web.CheckSSEField("event", event); err != nil {
		return err
	}
	return p.R.Publish(ctx, web.StreamEvent{Channel: channel, Event: event, ID: id, Data: data})
}

// Start relays other engines' stream events (with a database): it reads
// (or makes, on the first engine) the key that signs stream notifications
// and starts listening.
func (r *Relay) Start() {
	if r.cfg.DB == nil {
		return
	}
	r.key = streamauth.LoadKey(r.cfg.DB, r.cfg.Locked, r.cfg.Log)
	r.cfg.Group.Add(1)
	go r.listen()
}

// Await waits, up to bound, for the relay's first LISTEN, so that an
// engine whose Start returned relays the stream events published from then
// on. Past the bound (a database slow to accept the connection) Start goes
// on and readiness says why it is not ready.
func (r *Relay) Await(ctx context.Context, bound time.Duration) {
	if r.cfg.DB == nil {
		return
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-r.cfg.InPlace.Wait(Listener):
	case <-t.C:
		r.cfg.Log.Warn("the stream relay is not listening yet; not ready until it is", "waited", bound)
	case <-ctx.Done():
	}
}

// Listening reports whether the relay relays: without a database always,
// with one once its LISTEN is in place.
func (r *Relay) Listening() bool { return r.cfg.DB == nil || r.cfg.InPlace.Has(Listener) }

// Done is closed when the event streams must end (Close).
func (r *Relay) Done() <-chan struct{} { return r.done }

// Close ends every open event stream (before the HTTP server waits for its
// connections to finish).
func (r *Relay) Close() { r.doneOnce.Do(func() { close(r.done) }) }
