package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
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

const streamNotify = "vbwd_stream"

// Publish sends an event to a channel's subscribers on every engine sharing
// the database (or on this engine without one).
func (e *Engine) Publish(ctx context.Context, ev StreamEvent) error {
	if e.opts.DB == nil {
		e.broker.Deliver(ev)
		return nil
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if len(payload) > 7900-streamSigLen {
		return fmt.Errorf("stream event of %d bytes: at most about 7.9 kB (PostgreSQL NOTIFY)", len(payload))
	}
	_, err = e.opts.DB.Exec(ctx, "select pg_notify($1, $2)", streamNotify, e.signStream(payload))
	return err
}

// listenStreams relays NOTIFYd stream events to this engine's subscribers.
func (e *Engine) listenStreams() {
	defer e.retiring.Done()
	e.runListener(pgcoord.Listener{
		What:    streamListener,
		Channel: streamNotify,
		OnNotify: func(_ context.Context, n *pgconn.Notification) error {
			var ev StreamEvent
			payload, ok := e.verifyStream(n.Payload)
			if !ok {
				e.log.Warn("stream events: dropped a notification without a valid signature (sent by other SQL than an engine's)", "pid", n.PID)
				return nil
			}
			if json.Unmarshal(payload, &ev) == nil {
				e.broker.Deliver(ev)
			}
			return nil
		},
	})
}

// streamPublisher adapts the engine to vbwd.stream.
type streamPublisher struct{ e *Engine }

func (p streamPublisher) Publish(ctx context.Context, channel, event, id, data string) error {
	if err := web.CheckSSEField("id", id); err != nil {
		return err
	}
	if err := web.CheckSSEField("event", event); err != nil {
		return err
	}
	return p.e.Publish(ctx, StreamEvent{Channel: channel, Event: event, ID: id, Data: data})
}

// startStreams relays other engines' stream events (with a database).
func (e *Engine) startStreams() {
	if e.opts.DB == nil {
		return
	}
	e.loadStreamKey()
	e.retiring.Add(1)
	go e.listenStreams()
}

// closeStreams ends every open event stream (before the HTTP server waits
// for its connections to finish).
func (e *Engine) closeStreams() {
	e.streamsOnce.Do(func() { close(e.streamsDone) })
}
