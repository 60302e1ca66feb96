package db

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
	"github.com/vbwd-platform/vbwd-engine/stdlib/json"
	vtime "github.com/vbwd-platform/vbwd-engine/stdlib/time"
)

var srv *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &srv) }

// newPool returns a pool on a fresh database, closed when tb ends.
func newPool(tb testing.TB, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(srv.NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range configure {
		f(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// renamed installs a module under another name.
type renamed struct {
	hostapi.Module
	name string
}

func (r renamed) Name() string { return r.name }

// TestLua runs testdata/*_test.lua with vbwd.db on a fresh database, and
// beside it db_timeout (a 500 ms statement timeout) and db_none (no
// database).
func TestLua(t *testing.T) {
	pool := newPool(t)
	luatest.Run(t, "testdata",
		New(pool, Options{Plugin: "test"}),
		renamed{New(pool, Options{Plugin: "test", StatementTimeout: 500 * time.Millisecond}), "db_timeout"},
		renamed{New(nil, Options{Plugin: "test"}), "db_none"},
		json.New(),
		vtime.New(nil),
	)
	checkReleased(t, pool)
}

// checkReleased fails t if a connection of pool is still in use: every
// call, transaction and rollback must give its connection back. A broken
// connection (killed by a deadline) is destroyed asynchronously by the
// pool, hence the wait.
func checkReleased(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := pool.Stat().AcquiredConns()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d connections still acquired", n)
			return
		}
	}
}

// TestProtocols compares the extended protocol (binary results) with the
// simple protocol (text results) under different session settings.
func TestProtocols(t *testing.T) {
	url := srv.NewDatabase(t)
	pool := func(mode pgx.QueryExecMode, params map[string]string) *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.DefaultQueryExecMode = mode
		for k, v := range params {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
		p, err := pgxpool.NewWithConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	extended := pool(pgx.QueryExecModeCacheStatement, map[string]string{
		"DateStyle": "SQL, DMY", "IntervalStyle": "iso_8601", "TimeZone": "Asia/Kolkata",
	})
	simple := pool(pgx.QueryExecModeSimpleProtocol, map[string]string{
		"TimeZone": "America/New_York", "bytea_output": "escape",
	})
	luatest.Run(t, "testdata/protocols",
		New(extended, Options{}), renamed{New(simple, Options{}), "db_simple"}, json.New())
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(nil, Options{}), "exec", "json", "null", "query", "query_one", "tx")
}

// callDB calls the module function name with args directly from Go (no Lua
// instruction runs after it, so a passed deadline does not abort the Lua
// VM before we see the results) and returns its results.
func callDB(t *testing.T, L *lua.LState, name string, args ...lua.LValue) []lua.LValue {
	t.Helper()
	mod := L.GetGlobal("db")
	if mod == lua.LNil {
		if err := L.DoString(`db = require("vbwd.db")`); err != nil {
			t.Fatal(err)
		}
		mod = L.GetGlobal("db")
	}
	top := L.GetTop()
	L.Push(L.GetField(mod, name))
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), lua.MultRet, nil); err != nil {
		t.Fatalf("db.%s: %v", name, err)
	}
	out := make([]lua.LValue, L.GetTop()-top)
	for i := range out {
		out[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	return out
}

// A query cut by the request deadline returns promptly with nil and a
// cancellation error, and the module works afterwards.
func TestRequestDeadline(t *testing.T) {
	pool := newPool(t)
	L := luatest.NewState(t, New(pool, Options{}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	start := time.Now()
	res := callDB(t, L, "query", lua.LString("select pg_sleep(5)"))
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("query returned after %v", elapsed)
	}
	if len(res) != 2 || res[0] != lua.LNil {
		t.Fatalf("results %v, want nil, err", res)
	}
	e := res[1].(*lua.LTable)
	if msg := e.RawGetString("message").String(); msg != "query cancelled by the request deadline" {
		t.Errorf("message %q", msg)
	}
	if code := e.RawGetString("code").String(); code != "deadline" && code != codeQueryCanceled {
		t.Errorf("code %q", code)
	}
	if s := L.ToStringMeta(e).String(); !strings.HasPrefix(s, "vbwd.db: query cancelled by the request deadline") {
		t.Errorf("tostring %q", s)
	}

	L.SetContext(context.Background())
	res = callDB(t, L, "query_one", lua.LString("select 42 as n"))
	if row, ok := res[0].(*lua.LTable); !ok || row.RawGetString("n") != lua.LNumber(42) {
		t.Errorf("query after the deadline: %v", res)
	}
	checkReleased(t, pool)
}

// A cancelled request (client gone) is told apart from a deadline.
func TestRequestCancelled(t *testing.T) {
	pool := newPool(t)
	L := luatest.NewState(t, New(pool, Options{}))
	ctx, cancel := context.WithCancel(context.Background())
	L.SetContext(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	res := callDB(t, L, "exec", lua.LString("select pg_sleep(5)"))
	e, ok := res[1].(*lua.LTable)
	if !ok {
		t.Fatalf("results %v, want nil, err", res)
	}
	if code := e.RawGetString("code").String(); code != "cancelled" && code != codeQueryCanceled {
		t.Errorf("code %q", code)
	}
	if msg := e.RawGetString("message").String(); msg != errCancelled.Error() {
		t.Errorf("message %q", msg)
	}
}

// The build-phase refusal is a Lua error, so the engine reports it with the
// plugin's file:line.
func TestBuildPhaseError(t *testing.T) {
	L := luatest.NewState(t, New(newPool(t), Options{}))
	L.SetContext(hostapi.WithBuildPhase(t.Context()))
	for _, chunk := range []string{
		`db.query("select 1")`, `db.query_one("select 1")`, `db.exec("select 1")`, `db.tx(function() end)`,
	} {
		err := L.DoString(`local db = require("vbwd.db"); ` + chunk)
		if err == nil {
			t.Fatalf("%s during the build phase succeeded", chunk)
		}
		if want := "<string>:1: " + buildPhaseError; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %q, want prefix %q", err, want)
		}
	}
}

// txProbe is a host module writing through CurrentTx, as vbwd.events will.
type txProbe struct{}

func (txProbe) Name() string { return "probe" }

func (txProbe) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		// note(text) inserts into probe_notes in the caller's transaction
		// and returns true, or returns false when there is none.
		"note": func(L *lua.LState) int {
			tx := CurrentTx(L)
			if tx == nil {
				L.Push(lua.LFalse)
				return 1
			}
			if _, err := tx.Exec(L.Context(), "insert into probe_notes (body) values ($1)", L.CheckString(1)); err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(lua.LTrue)
			return 1
		},
	}))
	return 1
}

func TestCurrentTx(t *testing.T) {
	pool := newPool(t)
	if _, err := pool.Exec(t.Context(), "create table probe_notes (body text)"); err != nil {
		t.Fatal(err)
	}
	L := luatest.NewState(t, New(pool, Options{}), txProbe{})
	L.SetContext(t.Context())
	err := L.DoString(`
		local db = require("vbwd.db")
		local probe = require("vbwd.probe")
		eq(probe.note("outside"), false, "no transaction outside db.tx")
		db.tx(function(tx)
			eq(probe.note("committed"), true)
			pcall(tx.tx, function()
				eq(probe.note("in a rolled back savepoint"), true)
				error("undo")
			end)
			db.tx(function() probe.note("in a released savepoint") end)
		end)
		pcall(db.tx, function()
			probe.note("rolled back")
			error("undo")
		end)
		eq(probe.note("after"), false, "no transaction after db.tx")
	`)
	if err != nil {
		t.Fatal(err)
	}
	if CurrentTx(L) != nil {
		t.Error("CurrentTx after the transactions ended")
	}
	rows, err := pool.Query(t.Context(), "select body from probe_notes order by body")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := "committed,in a released savepoint"; strings.Join(got, ",") != want {
		t.Errorf("notes %q, want %q", got, want)
	}
}

// Coroutines share the state's transaction. gopher-lua cannot yield
// across a Go call: a coroutine yielding inside db.tx makes db.tx roll back
// and raise rather than commit half of its function.
func TestCoroutines(t *testing.T) {
	pool := newPool(t)
	L := luatest.NewState(t, New(pool, Options{}))
	L.Push(L.NewFunction(lua.OpenCoroutine))
	L.Push(lua.LString(lua.CoroutineLibName))
	L.Call(1, 0)
	err := L.DoString(`
		db = require("vbwd.db")
		db.exec("create table co (n int)")
		db.tx(function(tx)
			tx.exec("insert into co values (1)")
			local co = coroutine.wrap(function()
				return db.query_one("select count(*) as n from co").n
			end)
			eq(co(), 1, "a coroutine sees the transaction's row")
		end)
	`)
	if err != nil {
		t.Fatal(err)
	}
	err = L.DoString(`
		local co = coroutine.create(function()
			db.tx(function(tx)
				tx.exec("insert into co values (2)")
				coroutine.yield("inside")
			end)
		end)
		coroutine.resume(co)
	`)
	if err == nil || !strings.Contains(err.Error(), yieldError) {
		t.Fatalf("yield inside db.tx: error %v, want %q", err, yieldError)
	}
	if CurrentTx(L) != nil {
		t.Error("a transaction is still open")
	}
	if err := L.DoString(`eq(db.query_one("select count(*) as n from co").n, 1, "rolled back")`); err != nil {
		t.Fatal(err)
	}
	checkReleased(t, pool)
}
