package events

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
	"github.com/vbwd-platform/vbwd-engine/stdlib/db"
)

var srv *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &srv) }

// call is what fakeBus saw of one emit or publish.
type call struct {
	kind, source, name string
	payload            any    // emit
	raw                string // publish
	inTx               bool
	requestID          string
	deadline           bool
}

// fakeBus records calls. Emit answers a fixed summary; Publish fails for
// the event p.fail and otherwise runs "select 1" in the caller's
// transaction, if any, to prove it is usable.
type fakeBus struct {
	mu    sync.Mutex
	calls []call
	woken int // afterCommit calls of published events
}

func (b *fakeBus) record(ctx context.Context, c call) {
	if r := hostapi.RequestFrom(ctx); r != nil {
		c.requestID = r.ID
	}
	_, c.deadline = ctx.Deadline()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, c)
}

func (b *fakeBus) Emit(ctx context.Context, source, name string, payload any) Summary {
	b.record(ctx, call{kind: "emit", source: source, name: name, payload: payload})
	return Summary{Delivered: 2, Failed: []Failure{{Plugin: "b", Error: "plugins/b/init.lua:3: boom"}}}
}

func (b *fakeBus) Publish(ctx context.Context, tx pgx.Tx, source, name string, payload []byte) (string, func(), error) {
	b.record(ctx, call{kind: "publish", source: source, name: name, raw: string(payload), inTx: tx != nil})
	if name == "p.fail" {
		return "", nil, errors.New("database is down")
	}
	if tx != nil {
		if _, err := tx.Exec(ctx, "select 1"); err != nil {
			return "", nil, err
		}
	}
	wake := func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.woken++
	}
	return "0b7e4c1a-2f4d-4c49-9a54-7d1f6c1b2a10", wake, nil
}

// probe is vbwd.bus: bus.last() returns the last call the fake bus saw.
type probe struct{ b *fakeBus }

func (probe) Name() string { return "bus" }

func (p probe) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"woken": func(L *lua.LState) int {
			p.b.mu.Lock()
			defer p.b.mu.Unlock()
			L.Push(lua.LNumber(p.b.woken))
			return 1
		},
		"last": func(L *lua.LState) int {
			p.b.mu.Lock()
			c := p.b.calls[len(p.b.calls)-1]
			p.b.mu.Unlock()
			m := map[string]any{
				"kind": c.kind, "source": c.source, "name": c.name, "payload": c.payload,
				"raw": c.raw, "in_tx": c.inTx, "request_id": c.requestID, "deadline": c.deadline,
			}
			if c.payload == nil {
				delete(m, "payload") // absent, not json.null
			}
			L.Push(luaconv.FromGo(L, m))
			return 1
		},
	}))
	return 1
}

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestLua(t *testing.T) {
	bus := &fakeBus{}
	luatest.Run(t, "testdata", New(bus, Options{Plugin: "p"}), probe{bus}, db.New(newPool(t), db.Options{Plugin: "p"}))
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(&fakeBus{}, Options{Plugin: "p"}), "emit", "publish")
}

// Without a bus (the instance stubgen reads the docs from) calls raise.
func TestModule_NoBus(t *testing.T) {
	L := luatest.NewState(t, New(nil, Options{Plugin: "p"}))
	err := L.DoString(`require("vbwd.events").emit("p.x")`)
	if err == nil || !strings.Contains(err.Error(), noBusError) {
		t.Errorf("error %v, want %q", err, noBusError)
	}
}
