// Package outbox delivers durable events (events.publish) through the
// vbwd.events_outbox table every engine on the database shares (see
// outbox.go). It reaches the engine through Host and never imports it.
package outbox

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
)

// Host is what delivery needs of the engine: functions the engine fills
// (engine/outboxhost.go).
type Host struct {
	// Handlers lists the serving handlers of the event name, in plugin order.
	Handlers func(event string) []Handler
	// Index is the serving registrations now; the same value while they do
	// not change (compared with ==).
	Index func() Index
	// Serving reports whether plugin serves now.
	Serving func(plugin string) bool
	// Count counts a delivery outcome (delivered, failed, dead, parked).
	Count func(plugin, event, outcome string)
	// RunListener runs l until the engine shuts down.
	RunListener func(l pgcoord.Listener)
}

// Index is one set of serving registrations, as subscriptions.go records them.
type Index interface {
	// Subscriptions lists the serving handlers as (plugins[i], events[i])
	// pairs, and the serving plugins.
	Subscriptions() (plugins, events []string, serving map[string]bool)
}

// Handler is one plugin's serving handler of an event.
type Handler struct {
	Plugin string
	// Run runs the handler; handled is false when the plugin no longer
	// handles the event (it went away meanwhile). errs.ErrRetired: the
	// engine is stopping.
	Run func(ctx context.Context, ev *Event) (handled bool, err error)
}

// Event is a claimed outbox row on its way to handlers.
type Event struct {
	id, name, source string
	attempt          int
	raw              []byte // the JSON text stored in the outbox
}

func (ev *Event) ID() string     { return ev.id }
func (ev *Event) Name() string   { return ev.name }
func (ev *Event) Source() string { return ev.source }
func (ev *Event) Attempt() int   { return ev.attempt }
func (ev *Event) Raw() []byte    { return ev.raw }

// Config is what the outbox reads of the engine's options and lifecycle.
type Config struct {
	DB             *pgxpool.Pool
	Events         EventOptions
	RequestTimeout time.Duration
	NodeID         string // locked_by of claimed rows
	Root           string // plugins/<name>/init.lua tells an installed plugin
	Log            *slog.Logger
	Quit           <-chan struct{} // closed at Shutdown
	Group          *sync.WaitGroup // Shutdown waits for the workers on it
}

func newOutbox(h Host, c Config) *outbox {
	return &outbox{h: h, c: c, db: c.DB, o: c.Events.withDefaults(c.RequestTimeout)}
}
