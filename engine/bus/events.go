package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/outbox"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
	"github.com/vbwd-platform/vbwd-engine/stdlib/events"
)

// Events between plugins (vbwd.events). Handlers are the KindEvent
// registrations of the serving generations, found through Host.Handlers:
// emit runs them at once in their own plugins' pools; publish writes an
// outbox row that the delivery workers of engine/outbox hand to them later.

// maxEmitDepth bounds nested emits (a handler emitting, whose handler
// emits, ...), so an event cycle ends with failures instead of running
// until the deadline.
const maxEmitDepth = 8

var errEmitDepth = fmt.Errorf("events nested more than %d deep (an event cycle?)", maxEmitDepth)

type emitDepthKey struct{}

// Event is one event on its way to handlers.
type Event struct {
	id, name, source string
	attempt          int
	payload          any    // emit: Go data from luaconv.ToGo
	raw              []byte // publish: the JSON text stored in the outbox

	// The scalar fields as Lua values, boxed once per event rather than
	// once per handler (immutable, so states may share them). Set on first
	// use: an eventMsg is delivered by one goroutine at a time.
	fields [4]lua.LValue // id, name, source, attempt
}

// NewEvent makes an event to deliver with RunHandler: raw is the JSON
// payload of a durable event (an outbox row), nil for none.
func NewEvent(id, name, source string, attempt int, raw []byte) *Event {
	return &Event{id: id, name: name, source: source, attempt: attempt, raw: raw}
}

func (ev *Event) luaFields() *[4]lua.LValue {
	if ev.fields[0] == nil {
		ev.fields = [4]lua.LValue{lua.LString(ev.id), lua.LString(ev.name), lua.LString(ev.source), lua.LNumber(ev.attempt)}
	}
	return &ev.fields
}

// EventsModule binds vbwd.events to a plugin generation (DefaultModules).
func (b Bus[R]) EventsModule(p hostapi.Plugin) hostapi.Module {
	return events.New(b, events.Options{Plugin: p.Name})
}

// Emit implements events.Bus: every handler of name runs before it returns.
func (b Bus[R]) Emit(ctx context.Context, source, name string, payload any) events.Summary {
	if h := b.c.Hook; h != nil {
		h(EventSeen{Name: name, Source: source, Payload: payload, Durable: false})
	}
	var sum events.Summary
	refs := b.h.Handlers(name)
	if len(refs) == 0 {
		return sum
	}
	depth, _ := ctx.Value(emitDepthKey{}).(int)
	ev := &Event{id: uuid.NewString(), name: name, source: source, attempt: 1, payload: payload}
	if depth >= maxEmitDepth {
		for _, ref := range refs {
			handlerFailed(ref.Logger(), ev, errEmitDepth)
			sum.Failed = append(sum.Failed, events.Failure{Plugin: ref.Plugin(), Error: errEmitDepth.Error()})
		}
		return sum
	}
	ctx = context.WithValue(ctx, emitDepthKey{}, depth+1)
	ctx, sp := web.StartEvent(ctx, "emit", name, source) // web/tracing.go; nil when untraced
	defer tracing.End(sp, nil)
	for _, ref := range refs {
		handled, err := b.RunHandler(ctx, ref, ev)
		switch {
		case !handled:
		case errors.Is(err, errs.ErrRetired):
			sum.Failed = append(sum.Failed, events.Failure{Plugin: ref.Plugin(), Error: "plugin is stopping"})
		case err != nil:
			sum.Failed = append(sum.Failed, events.Failure{Plugin: ref.Plugin(), Error: err.Error()})
		default:
			sum.Delivered++
		}
	}
	return sum
}

// publishSQL inserts an outbox row and wakes the delivery workers of every
// engine on the database; inside a transaction PostgreSQL sends the
// notification at commit, and never after a rollback. quietPublishSQL does
// not notify: PostgreSQL serialises the commits of transactions that sent
// NOTIFY (a global lock held through the commit's flush), which held a
// write route with a durable event to a third of its rate, so an engine
// with delivery workers wakes them itself once the row has committed
// (Config.Wake), and other engines find the row at their next poll.
const (
	publishSQL = `with ins as (insert into vbwd.events_outbox (id, name, source, payload)
	values ($1, $2, $3, $4) returning 1) select pg_notify('` + outbox.EventsChannel + `', '') from ins`
	quietPublishSQL = `insert into vbwd.events_outbox (id, name, source, payload) values ($1, $2, $3, $4)`
)

// Publish implements events.Bus: it writes the event to the outbox, in tx
// when there is one; then afterCommit, when not nil, wakes this engine's
// delivery workers and is for the caller to run once tx has committed.
func (b Bus[R]) Publish(ctx context.Context, tx pgx.Tx, source, name string, payload []byte) (id string, afterCommit func(), err error) {
	id = uuid.NewString()
	ctx, sp := web.StartEvent(ctx, "publish", name, source) // web/tracing.go; nil when untraced
	defer func() { tracing.End(sp, err) }()
	var wake func()
	if b.c.Wake != nil {
		if w := b.c.Wake.Load(); w != nil {
			wake = *w
		}
	}
	q := publishSQL
	if wake != nil {
		q = quietPublishSQL
	}
	switch {
	case tx != nil && strings.HasPrefix(tx.Conn().Config().User, plugindb.RolePrefix):
		// a plugin's role may not write the outbox: it calls the engine's
		// SECURITY DEFINER function, which takes the source from the role
		// (engine/plugindb/dbroles.go)
		_, err = tx.Exec(ctx, "select vbwd_api.publish_event($1::text::uuid, $2, $3::jsonb, $4)", id, name, payload, wake == nil)
	case tx != nil:
		_, err = tx.Exec(ctx, q, id, name, source, payload)
	case b.c.DB != nil:
		_, err = b.c.DB.Exec(ctx, q, id, name, source, payload)
		if err == nil && wake != nil {
			wake() // committed already
			wake = nil
		}
	default:
		err = errors.New("no database configured: durable events need one")
	}
	if err != nil {
		return "", nil, err
	}
	if h := b.c.Hook; h != nil {
		var p any
		_ = json.Unmarshal(payload, &p)
		h(EventSeen{ID: id, Name: name, Source: source, Payload: p, Durable: true})
	}
	if tx == nil {
		wake = nil
	}
	return id, wake, nil
}

// EventSeen is an event as it is emitted or published (Options.EventHook).
type EventSeen struct {
	ID      string // durable events only
	Name    string
	Source  string
	Payload any
	Durable bool
}

// RunHandler runs the handler that ref's plugin registered for ev. When
// ref's generation was replaced meanwhile (ErrRetired) it runs the
// replacement's handler instead; handled is false when the plugin no longer
// handles the event (it was disabled). A failure of the handler is logged
// here; ErrRetired is returned when the engine is shutting down.
func (b Bus[R]) RunHandler(ctx context.Context, ref R, ev *Event) (handled bool, err error) {
	ctx, sp := web.StartDelivery(ctx, b.c.Tracer, ev.name, ref.Plugin(), ev.attempt) // web/tracing.go; nil when untraced
	defer func() { tracing.End(sp, err) }()
	for try := 0; ; try++ {
		err = b.h.CallEvent(ctx, ref, ev)
		if !errors.Is(err, errs.ErrRetired) {
			break
		}
		next, ok := handlerOf(b.h.Handlers(ev.name), ref.Plugin())
		if !ok {
			return false, nil
		}
		if next == ref || try == 3 { // the same registration: the same generation
			return true, err // the engine is shutting down (the index stays): not the handler's failure
		}
		ref = next
	}
	if err != nil {
		handlerFailed(ref.Logger(), ev, err)
	}
	return true, err
}

// handlerOf finds plugin's handler among the handlers of an event.
func handlerOf[R Ref](refs []R, plugin string) (R, bool) {
	for _, ref := range refs {
		if ref.Plugin() == plugin {
			return ref, true
		}
	}
	var none R
	return none, false
}

// handlerFailed logs a failing handler with its plugin, generation and
// file:line, on the generation's logger.
func handlerFailed(logger *slog.Logger, ev *Event, err error) {
	attrs := []any{"event", ev.name, "event_id", ev.id, "source", ev.source, "attempt", ev.attempt, "err", err.Error()}
	var pe *errs.PluginError
	if errors.As(err, &pe) {
		attrs = append(attrs, "src", pe.Location(), "traceback", pe.Traceback)
	}
	logger.Error("event handler failed", attrs...)
}

// CallEvent calls the handler fn of plugin's state L with the event table
// {id, name, source, payload, attempt}; the payload is this state's own copy.
// Host.CallEvent runs it in a state of the handler's generation.
func CallEvent(ctx context.Context, L *lua.LState, plugin string, fn *lua.LFunction, ev *Event) error {
	t := L.CreateTable(0, 5)
	f := ev.luaFields()
	t.RawSetString("id", f[0]) // constant keys: RawSetString inlines and boxes them statically
	t.RawSetString("name", f[1])
	t.RawSetString("source", f[2])
	t.RawSetString("attempt", f[3])
	if ev.raw != nil {
		p, err := luaconv.DecodeJSON(L, ev.raw)
		if err != nil {
			return &errs.PluginError{Plugin: plugin, Op: "event " + ev.name, Err: fmt.Errorf("decoding the payload: %w", err)}
		}
		if luaconv.IsNull(p) {
			p = lua.LNil // as emit gives a nil payload
		}
		t.RawSetString("payload", p)
	} else {
		t.RawSetString("payload", luaconv.FromGo(L, ev.payload))
	}
	L.Push(fn)
	L.Push(t)
	if err := L.PCall(1, 0, nil); err != nil {
		return luavm.WithCtxErr(ctx, errs.NormalizeLuaError(plugin, "event "+ev.name, err))
	}
	return nil
}
