package engine

import (
	"context"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/bus"
	"github.com/vbwd-platform/vbwd-engine/engine/outbox"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// Durable events are delivered by engine/outbox; it reaches the engine
// through the outbox.Host that outboxHost fills.

// EventOptions configures the delivery of durable events (see engine/outbox).
type EventOptions = outbox.EventOptions

// startEvents starts the listener and the delivery workers (the tables are
// engine/enginedb's). Without a database it does nothing.
func (e *Engine) startEvents(ctx context.Context) error {
	if e.opts.DB == nil {
		return nil
	}
	if wake := outbox.Start(e.outboxHost(), e.outboxConfig()); wake != nil {
		e.wakeEvents.Store(&wake) // publishes from now on wake this engine's workers, not every engine's
	}
	return nil
}

// DeliverPending delivers, in the calling goroutine, every durable event
// that is pending and due at now, round after round, until none is due
// (events published by handlers meanwhile included). A failing handler's
// retry is scheduled at now plus its backoff, so a later call with a clock
// advanced past it runs the retry. It returns the number of delivery
// attempts made. This is `vbwd test`'s t.deliver(): the test runner's
// engine has no delivery workers (EventOptions.Workers < 0), so delivery
// happens exactly there; elsewhere delivery is asynchronous.
func (e *Engine) DeliverPending(ctx context.Context, now time.Time) (int, error) {
	return outbox.DeliverPending(ctx, e.outboxHost(), e.outboxConfig(), now)
}

func (e *Engine) outboxConfig() outbox.Config {
	return outbox.Config{DB: e.opts.DB, Events: e.opts.Events, RequestTimeout: e.opts.RequestTimeout,
		NodeID: e.opts.NodeID, Root: e.opts.Root, Log: e.log, Quit: e.quit, Group: &e.retiring}
}

// outboxHost is the engine as engine/outbox sees it (outbox.Host).
func (e *Engine) outboxHost() outbox.Host {
	return outbox.Host{Handlers: e.eventHandlers, RunListener: e.runListener,
		Index:   func() outbox.Index { return (*subsIndex)(e.index.Load()) },
		Serving: func(plugin string) bool { return e.index.Load().Serving[plugin] },
		Count: func(plugin, event, outcome string) {
			e.metrics.Events.WithLabelValues(plugin, web.Label(event), outcome).Inc()
		}}
}

// eventHandlers lists the serving handlers of event, for delivery.
func (e *Engine) eventHandlers(event string) []outbox.Handler {
	refs := e.index.Load().Events[event]
	out := make([]outbox.Handler, len(refs))
	for i, ref := range refs {
		out[i] = outbox.Handler{Plugin: ref.Gen.Plugin, Run: func(ctx context.Context, ev *outbox.Event) (bool, error) {
			msg := bus.NewEvent(ev.ID(), ev.Name(), ev.Source(), ev.Attempt(), ev.Raw())
			return e.runHandler(ctx, ref, msg)
		}}
	}
	return out
}

// subsIndex is a registry index as the outbox records its subscriptions.
type subsIndex registryIndex

func (ix *subsIndex) Subscriptions() (plugins, events []string, serving map[string]bool) {
	for name, refs := range ix.Events {
		for _, ref := range refs {
			plugins, events = append(plugins, ref.Gen.Plugin), append(events, name)
		}
	}
	return plugins, events, ix.Serving
}
