package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
)

// Durable events: plugin src publishes src.saved from a route, optionally
// in a db.tx that it may roll back; plugin sink records each delivery in
// sink_seen through vbwd.db, after passing vbwd.gate (a no-op, except in
// the child process of the SIGKILL test, where it blocks).

const publisherBody = `
local events = require("vbwd.events")
local db = require("vbwd.db")
function P.routes(r)
  r:post("/publish", function(req)
    local body = req:json()
    if not body.tx then
      local id, err = events.publish("src.saved", body.payload)
      if not id then return 500, { error = err } end
      return 200, { id = id }
    end
    local id
    local committed, err = pcall(db.tx, function(tx)
      tx.exec("insert into src_items (note) values ($1)", "with the event")
      id = assert(events.publish("src.saved", body.payload))
      if body.rollback then error("changed my mind") end
    end)
    return 200, { id = id, committed = committed }
  end)
end`

const sinkBody = `
local db = require("vbwd.db")
local gate = require("vbwd.gate")
function P.on_enable(ctx)
  ctx:on("src.saved", function(ev)
    gate.pass(ev.id)
    assert(db.exec("insert into sink_seen (event_id, attempt, name, source, payload) values ($1, $2, $3, $4, $5)",
      ev.id, ev.attempt, ev.name, ev.source, db.json(ev.payload)))
  end)
end`

func outboxRoot(t testing.TB, extra files) string {
	fs := files{
		"plugins/src/init.lua": pluginSrc("src", "", publisherBody),
		"plugins/src/migrations/20260101000000_items.sql": "-- migrate:up\ncreate table src_items (note text);\n" +
			"-- migrate:down\ndrop table src_items;\n",
		"plugins/sink/init.lua": pluginSrc("sink", "", sinkBody),
		"plugins/sink/migrations/20260101000000_seen.sql": "-- migrate:up\n" +
			"create table sink_seen (event_id uuid, attempt int, name text, source text, payload jsonb, at timestamptz default now());\n" +
			"-- migrate:down\ndrop table sink_seen;\n",
	}
	for k, v := range extra {
		fs[k] = v
	}
	return writeRoot(t, fs)
}

// outboxGate is vbwd.gate. gate.pass(id) returns at once, or, when block
// is set, writes id to the marker file and blocks until the call's
// deadline; with entered set it sends id there, and with release set it
// waits for release to close.
type outboxGate struct {
	block   bool
	marker  string
	entered chan<- string
	release <-chan struct{}
}

func (outboxGate) Name() string { return "gate" }

func (g outboxGate) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"pass": func(L *lua.LState) int {
			id := L.CheckString(1)
			if g.block {
				_ = os.WriteFile(g.marker+".tmp", []byte(id), 0o644)
				_ = os.Rename(g.marker+".tmp", g.marker)
				<-L.Context().Done()
			}
			if g.entered != nil {
				g.entered <- id
			}
			if g.release != nil {
				select {
				case <-g.release:
				case <-L.Context().Done():
				}
			}
			return 0
		},
	}))
	return 1
}

// startOutboxEngine starts an engine on root and the database at url,
// with fast polling and the given event options.
func startOutboxEngine(t testing.TB, root, url string, gate outboxGate, ev EventOptions) *testEngine {
	if ev.PollInterval == 0 {
		ev.PollInterval = 50 * time.Millisecond
	}
	return startEngine(t, root, func(o *Options) {
		o.DB = openPool(t, url)
		o.Events = ev
		o.AdminToken = adminToken
		o.ExtraModules = []hostapi.Factory{func(hostapi.Plugin) hostapi.Module { return gate }}
	})
}

// publishVia posts to src's /publish route and returns the event id.
func publishVia(t *testing.T, te *testEngine, body string) (id string, committed bool) {
	t.Helper()
	res := te.do(t, "POST", "/api/src/publish", body)
	if res.status != 200 {
		t.Fatalf("publish %s: %d %s", body, res.status, res.body)
	}
	id, _ = res.json["id"].(string)
	committed, _ = res.json["committed"].(bool)
	return id, committed
}

// outboxRow reads an event's status and attempts ("" when absent).
func outboxRow(t *testing.T, te *testEngine, id string) (status string, attempts int, lastError string) {
	t.Helper()
	var le *string
	err := te.opts.DB.QueryRow(context.Background(),
		"select status, attempts, last_error from vbwd.events_outbox where id = $1", id).Scan(&status, &attempts, &le)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	if le != nil {
		lastError = *le
	}
	return status, attempts, lastError
}

func waitStatus(t *testing.T, te *testEngine, id, want string) {
	t.Helper()
	eventually(t, "event "+id+" "+want, func() bool {
		st, _, _ := outboxRow(t, te, id)
		return st == want
	})
}

func TestOutbox_PublishRolledBackAndCommitted(t *testing.T) {
	_, url := newDB(t)
	te := startOutboxEngine(t, outboxRoot(t, nil), url, outboxGate{}, EventOptions{})

	rolledBack, committed := publishVia(t, te, `{"tx": true, "rollback": true, "payload": {"n": 1}}`)
	if rolledBack == "" || committed {
		t.Fatalf("rolled back publish: id %q committed %v", rolledBack, committed)
	}
	id, committed := publishVia(t, te, `{"tx": true, "payload": {"n": 2, "tags": ["x"]}}`)
	if !committed {
		t.Fatal("the committed publish did not commit")
	}
	plain, _ := publishVia(t, te, `{"payload": "outside a transaction"}`)
	waitStatus(t, te, id, "delivered")
	waitStatus(t, te, plain, "delivered")
	// Workers take events in order: by now the rolled back one would have
	// been delivered too, had it existed.
	if st, _, _ := outboxRow(t, te, rolledBack); st != "" {
		t.Errorf("rolled back event is in the outbox with status %s", st)
	}
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = $1", rolledBack); n != 0 {
		t.Errorf("rolled back event delivered %d times", n)
	}
	if n := countRows(t, te, "select count(*) from src.src_items"); n != 1 {
		t.Errorf("src_items has %d rows, want the committed one", n)
	}
	var attempt int
	var name, source, payload string
	err := te.opts.DB.QueryRow(context.Background(), "select attempt, name, source, payload::text from sink.sink_seen where event_id = $1", id).
		Scan(&attempt, &name, &source, &payload)
	if err != nil || attempt != 1 || name != "src.saved" || source != "src" || payload != `{"n": 2, "tags": ["x"]}` {
		t.Errorf("delivery: attempt %d name %s source %s payload %s err %v", attempt, name, source, payload, err)
	}
	// Delivered once: another event goes through, and still one row.
	last, _ := publishVia(t, te, `{"payload": null}`)
	waitStatus(t, te, last, "delivered")
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = any($1::uuid[])", []string{id, plain}); n != 2 {
		t.Errorf("%d deliveries of 2 events", n)
	}
	if st, attempts, _ := outboxRow(t, te, id); attempts != 1 {
		t.Errorf("status %s attempts %d", st, attempts)
	}
}

// A flaky handler fails its first attempt; the retry runs only it, and
// the handler sees the same id with attempt 2. A handler that always
// fails dead-letters its event after MaxAttempts.
func TestOutbox_RetriesAndDeadLetter(t *testing.T) {
	_, url := newDB(t)
	root := outboxRoot(t, files{
		"plugins/flaky/init.lua": pluginSrc("flaky", "", `
local shared = require("vbwd.shared")
function P.on_enable(ctx)
  ctx:on("src.saved", function(ev)
    shared.incr("runs:" .. ev.id)
    shared.set("attempt:" .. ev.id, ev.attempt)
    if ev.payload == "doomed" then error("never works") end
    if ev.attempt == 1 then error("first attempt fails") end
  end)
end`),
	})
	te := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{MaxAttempts: 3, BackoffBase: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond})

	id, _ := publishVia(t, te, `{"payload": "flaky"}`)
	waitStatus(t, te, id, "delivered")
	if _, attempts, _ := outboxRow(t, te, id); attempts != 2 {
		t.Errorf("delivered after %d attempts, want 2", attempts)
	}
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = $1", id); n != 1 {
		t.Errorf("sink ran %d times, want once: the retry must skip it", n)
	}
	if runs, attempt := sharedNum(te, "flaky", "runs:"+id), sharedNum(te, "flaky", "attempt:"+id); runs != 2 || attempt != 2 {
		t.Errorf("flaky ran %d times, last attempt %d", runs, attempt)
	}

	doomed, _ := publishVia(t, te, `{"payload": "doomed"}`)
	waitStatus(t, te, doomed, "dead")
	time.Sleep(200 * time.Millisecond) // ten polls: no further attempt
	st, attempts, lastErr := outboxRow(t, te, doomed)
	if st != "dead" || attempts != 3 || sharedNum(te, "flaky", "runs:"+doomed) != 3 {
		t.Errorf("status %s attempts %d runs %d", st, attempts, sharedNum(te, "flaky", "runs:"+doomed))
	}
	if !strings.Contains(lastErr, "flaky: plugin flaky: plugins/flaky/init.lua:8: event src.saved: never works") {
		t.Errorf("last_error %q", lastErr)
	}
	if n := countRows(t, te, "select count(*) from sink.sink_seen where event_id = $1", doomed); n != 1 {
		t.Errorf("sink ran %d times for the dead event, want once", n)
	}
	metrics := te.do(t, "GET", "/metrics", "").body
	for _, want := range []string{
		`vbwd_event_deliveries_total{event="src.saved",outcome="dead",plugin="src"} 1`,
		`vbwd_event_deliveries_total{event="src.saved",outcome="failed",plugin="flaky"} 4`,
		`vbwd_event_deliveries_total{event="src.saved",outcome="delivered",plugin="sink"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// After disabling and re-enabling the subscriber, each event is handled
// exactly once.
func TestOutbox_DisableEnableNoDuplicates(t *testing.T) {
	_, url := newDB(t)
	te := startOutboxEngine(t, outboxRoot(t, nil), url, outboxGate{}, EventOptions{})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := te.SetEnabled(ctx, "sink", false, false); err != nil {
			t.Fatal(err)
		}
		if err := te.SetEnabled(ctx, "sink", true, false); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for i := 0; i < 5; i++ {
		id, _ := publishVia(t, te, fmt.Sprintf(`{"payload": %d}`, i))
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitStatus(t, te, id, "delivered")
	}
	if n := countRows(t, te, "select count(*) from sink.sink_seen"); n != len(ids) {
		t.Errorf("%d deliveries of %d events", n, len(ids))
	}
}

// Two engines on one database share the outbox: every event is delivered
// once, by one of them.
func TestOutbox_TwoEnginesShareTheOutbox(t *testing.T) {
	_, url := newDB(t)
	root := outboxRoot(t, nil)
	a := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{BatchSize: 8})
	b := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{BatchSize: 8})
	const n = 200
	if _, err := a.opts.DB.Exec(context.Background(), `insert into vbwd.events_outbox (id, name, source, payload)
		select gen_random_uuid(), 'src.saved', 'src', to_jsonb(i) from generate_series(1, $1) i`, n); err != nil {
		t.Fatal(err)
	}
	eventually(t, "all events delivered", func() bool {
		return countRows(t, a, "select count(*) from vbwd.events_outbox where status = 'delivered'") == n
	})
	if got := countRows(t, b, "select count(distinct event_id) from sink.sink_seen"); got != n {
		t.Errorf("%d distinct events delivered, want %d", got, n)
	}
	if got := countRows(t, b, "select count(*) from sink.sink_seen"); got != n {
		t.Errorf("%d deliveries of %d events", got, n)
	}
	if got := countRows(t, b, "select count(distinct locked_by) from vbwd.events_outbox"); got != 2 {
		t.Logf("only %d engine(s) delivered (fine, but the load was not shared)", got)
	}
}

// Shutdown lets the handler running finish, gives back the rest of the
// worker's batch unattempted, and waits for the worker.
func TestOutbox_ShutdownFinishesOrReleases(t *testing.T) {
	_, url := newDB(t)
	entered, release := make(chan string, 10), make(chan struct{})
	te := startOutboxEngine(t, outboxRoot(t, nil), url, outboxGate{entered: entered, release: release},
		EventOptions{Workers: 1, BatchSize: 10, PollInterval: time.Hour})
	ctx := context.Background()
	tx, err := te.opts.DB.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bus := te.bus()
	var ids []string
	var wake func()
	for i := 0; i < 3; i++ {
		id, w, err := bus.Publish(ctx, tx, "src", "src.saved", []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids, wake = append(ids, id), w
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wake() // one wake-up: one batch
	first := <-entered
	done := make(chan error)
	go func() { done <- te.Shutdown(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a handler ran", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var status string
		var attempts int
		var locked bool
		err := te.opts.DB.QueryRow(ctx, "select status, attempts, locked_until is not null from vbwd.events_outbox where id = $1", id).
			Scan(&status, &attempts, &locked)
		want := "pending 0 false"
		if id == first {
			want = "delivered 1 false"
		}
		if got := fmt.Sprint(status, " ", attempts, " ", locked); err != nil || got != want {
			t.Errorf("event %s: %s (%v), want %s", id, got, err, want)
		}
	}
	if len(entered) != 0 {
		t.Errorf("%d more handlers ran after Shutdown began", len(entered))
	}
}

// childEnv makes the test binary run TestOutbox_Child: an engine whose sink
// handler blocks mid-delivery until the parent kills the process.
const childEnv = "VBWD_OUTBOX_CHILD"

type childSpec struct{ URL, Root, Marker string }

// An engine killed with SIGKILL while its handler runs loses nothing: after
// the lease, a fresh engine delivers the event (attempt 2, same id).
func TestOutbox_SurvivesSIGKILLMidDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process and waits for a lease")
	}
	_, url := newDB(t)
	root := outboxRoot(t, nil)
	marker := filepath.Join(t.TempDir(), "claimed")
	cmd := startChild(t, "TestOutbox_Child", childEnv, childSpec{URL: url, Root: root, Marker: marker})
	eventually(t, "the child's handler to start", func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	id := readFile(t, marker)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()

	pool := openPool(t, url)
	var status string
	var attempts int
	var leased bool
	err := pool.QueryRow(context.Background(), `select status, attempts, locked_until > now()
		from vbwd.events_outbox where id = $1`, id).Scan(&status, &attempts, &leased)
	if err != nil || status != "pending" || attempts != 1 || !leased {
		t.Fatalf("after the kill: status %s attempts %d leased %v err %v", status, attempts, leased, err)
	}
	te := startOutboxEngine(t, root, url, outboxGate{}, EventOptions{})
	waitStatus(t, te, id, "delivered")
	var attempt int
	if err := pool.QueryRow(context.Background(), "select attempt from sink.sink_seen where event_id = $1", id).Scan(&attempt); err != nil || attempt != 2 {
		t.Errorf("delivered with attempt %d (%v), want 2", attempt, err)
	}
	if n := countRows(t, te, "select count(*) from sink.sink_seen"); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

// TestOutbox_Child is the child process of the SIGKILL test.
func TestOutbox_Child(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("helper process of TestOutbox_SurvivesSIGKILLMidDelivery")
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, spec.Root, func(o *Options) {
		o.DB = openPool(t, spec.URL)
		o.RequestTimeout = time.Minute
		o.Events = EventOptions{Lease: 5 * time.Second, PollInterval: 50 * time.Millisecond}
		gate := outboxGate{block: true, marker: spec.Marker}
		o.ExtraModules = []hostapi.Factory{func(hostapi.Plugin) hostapi.Module { return gate }}
	})
	id, _ := publishVia(t, te, `{"payload": {"from": "child"}}`)
	t.Logf("published %s; waiting to be killed", id)
	time.Sleep(time.Minute)
	t.Error("not killed")
}

// startChild re-runs this test binary as a child process running only the
// test named test, with spec (JSON) in the environment variable env and
// the parent's PostgreSQL server. The child is killed at cleanup and its
// output logged when the test failed.
func startChild(t *testing.T, test, env string, spec any) *exec.Cmd {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+string(raw), testpg.EnvURL+"="+pg.URL())
	out := &logBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("child output:\n%s", out.String())
		}
	})
	return cmd
}
