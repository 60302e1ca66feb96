package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/relay"
)

// probePlugin runs the SQL it is sent — what a hostile or buggy plugin
// could do — and reports the outcome; /esc runs a statement in a
// transaction and then reports who the session is.
const probePlugin = `
local db = require("vbwd.db")
local events = require("vbwd.events")
function P.routes(r)
  r:post("/sql", function(req)
    local rows, err = db.query(req:json().sql)
    if err then return 200, { ok = false, err = err.message } end
    return 200, { ok = true, rows = rows }
  end)
  r:post("/esc", function(req)
    local committed, out = pcall(db.tx, function(tx)
      local _, err = tx.exec(req:json().sql)
      if err then return { stmt_err = err.message } end
      return assert(tx.query_one("select current_setting('is_superuser') as super, current_user as cur, session_user as sess"))
    end)
    -- a failed statement aborts the transaction: its commit then raises
    return 200, committed and out or { stmt_err = out.message }
  end)
  r:post("/publish", function()
    local id = db.tx(function(tx)
      tx.exec("insert into probe_items (note) values ('published')")
      return assert(events.publish("probe.saved", { n = 1 }))
    end)
    return 200, { id = id }
  end)
end
`

const otherPlugin = `
local db = require("vbwd.db")
function P.routes(r)
  r:get("/count", function()
    local row = assert(db.query_one("select count(*)::int as n from other_secrets"))
    return 200, { n = row.n }
  end)
end
`

func leastPrivilegeRoot(t *testing.T) string {
	return writeRoot(t, files{
		"plugins/probe/init.lua": pluginSrc("probe", "", probePlugin),
		"plugins/probe/migrations/20260101000001_items.sql": "-- migrate:up\ncreate table probe_items (note text);\n" +
			"-- migrate:down\ndrop table probe_items;\n",
		"plugins/other/init.lua": pluginSrc("other", "", otherPlugin),
		"plugins/other/migrations/20260101000001_secrets.sql": "-- migrate:up\ncreate table other_secrets (s text);\n" +
			"insert into other_secrets values ('the other plugin''s secret');\n-- migrate:down\ndrop table other_secrets;\n",
	})
}

func (te *testEngine) sql(t *testing.T, sql string) (ok bool, msg string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sql})
	res := te.do(t, "POST", "/api/probe/sql", string(body))
	if res.status != 200 {
		t.Fatalf("%s: status %d %s", sql, res.status, res.body)
	}
	ok, _ = res.json["ok"].(bool)
	msg, _ = res.json["err"].(string)
	return ok, msg
}

// A plugin's SQL cannot run programs, read server files, reach the engine's
// tables or another plugin's, or create an untrusted extension; its own
// tables work; the engine keeps serving the other plugin.
func TestPluginSQL_LeastPrivilege(t *testing.T) {
	pool, _ := newDB(t)
	te := startEngine(t, leastPrivilegeRoot(t), func(o *Options) { o.DB = pool })
	for _, p := range []string{"probe", "other"} {
		if st := te.status(t, p); st.State != StateEnabled {
			t.Fatalf("%s is %s: %s", p, st.State, st.Error)
		}
	}
	if ok, msg := te.sql(t, "select count(*) from probe_items"); !ok {
		t.Fatalf("the plugin cannot read its own table: %s", msg)
	}
	refused := []string{
		"copy (select 'x') to program 'id'",
		"select pg_read_file('/etc/passwd')",
		"select pg_ls_dir('.')",
		"select lo_import('/etc/passwd')",
		"select lo_export(0, '/tmp/vbwd-probe')",
		"copy (select 'x') to '/tmp/vbwd-probe'",
		"copy probe_items from '/etc/hostname'",
		"select pg_terminate_backend(pid) from pg_stat_activity where usename = 'postgres'",
		"select * from vbwd.admin_changes",
		"insert into vbwd.admin_changes (node, action, plugin) values ('x', 'disable', 'other')",
		"select * from vbwd.events_outbox",
		"delete from vbwd.events_outbox",
		"select * from vbwd.jobs",
		"update vbwd.jobs set next_run = now()",
		"select * from vbwd.nodes",
		"select * from other.other_secrets",
		"select * from other_secrets",
		"select * from public.other_secrets",
		"create extension file_fdw",
		"create extension if not exists dblink",
		"create table public.probe_planted (x int)",
		"create schema probe_more",
		"alter role current_user superuser",
		"create role probe_friend login superuser",
		"select vbwd_api.publish_event(gen_random_uuid(), 'other.forged', '{}')",
	}
	for _, sql := range refused {
		if ok, _ := te.sql(t, sql); ok {
			t.Errorf("plugin SQL %q succeeded; it must be refused", sql)
		}
	}
	for _, sql := range []string{"reset role", "set role postgres", "set session authorization postgres",
		"set role none", "reset session authorization", "set role pg_execute_server_program"} {
		body, _ := json.Marshal(map[string]string{"sql": sql})
		res := te.do(t, "POST", "/api/probe/esc", string(body))
		if res.json["stmt_err"] != nil {
			continue // refused: good
		}
		if res.status != 200 || res.json["super"] != "off" || res.json["cur"] != "vbwd_plugin_probe" || res.json["sess"] != "vbwd_plugin_probe" {
			t.Errorf("after %q the plugin's session is %d %s", sql, res.status, res.body)
		}
	}
	if res := te.do(t, "GET", "/api/other/count", ""); res.status != 200 || res.json["n"] != float64(1) {
		t.Errorf("the other plugin no longer serves: %d %s", res.status, res.body)
	}
}

// events.publish inside a plugin's db.tx still writes the outbox (through
// the engine's SECURITY DEFINER function) with the plugin as the source,
// and commits with the plugin's own write.
func TestPluginSQL_PublishInTransaction(t *testing.T) {
	pool, _ := newDB(t)
	te := startEngine(t, leastPrivilegeRoot(t), func(o *Options) { o.DB = pool })
	res := te.do(t, "POST", "/api/probe/publish", "")
	id, _ := res.json["id"].(string)
	if res.status != 200 || id == "" {
		t.Fatalf("publish: %d %s", res.status, res.body)
	}
	var source, name string
	err := pool.QueryRow(context.Background(), "select source, name from vbwd.events_outbox where id = $1", id).Scan(&source, &name)
	if err != nil || source != "probe" || name != "probe.saved" {
		t.Errorf("outbox row: %q %q %v", source, name, err)
	}
}

// A plugin's SQL cannot inject server-sent events into another plugin's
// stream with NOTIFY on the engine's channel: engines sign what they relay.
func TestPluginSQL_CannotForgeStreamEvents(t *testing.T) {
	_, url := newDB(t)
	root := writeRoot(t, files{
		"plugins/chat/init.lua":  pluginSrc("chat", "", chatPlugin),
		"plugins/probe/init.lua": pluginSrc("probe", "", probePlugin),
	})
	te := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url) })
	s := openStream(t, te.srv.URL+"/api/chat/rooms/9/events")
	s.next(t) // hello
	// publish until the engine's LISTEN connection relays: it may be coming up
	stop := make(chan struct{})
	go func() {
		for {
			te.do(t, "POST", "/api/chat/rooms/9/messages", `{"text": "ready"}`)
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	if ev := s.next(t); ev != "event: message\ndata: {\"text\":\"ready\"}" {
		t.Fatalf("event: %q", ev)
	}
	close(stop)
	forged := `{"channel": "chat.room.9", "event": "message", "data": "forged"}`
	if ok, msg := te.sql(t, "select pg_notify('"+relay.Channel+"', '"+forged+"')"); !ok {
		t.Logf("NOTIFY refused: %s", msg)
	}
	if r := te.do(t, "POST", "/api/chat/rooms/9/messages", `{"text": "real"}`); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	for {
		ev := s.next(t)
		if strings.Contains(ev, "forged") {
			t.Fatalf("a plugin's NOTIFY reached another plugin's stream: %q", ev)
		}
		if ev == "event: message\ndata: {\"text\":\"real\"}" {
			return
		}
	}
}

// advisoryMigrationLock is the advisory lock key engines took while
// migrating before vbwd.migration_lock.
const advisoryMigrationLock int64 = 0x76627764_6d696772 // "vbwdmigr"

// A plugin's SQL cannot hold up the engine's migrations (and so every
// enable, reload and start of an engine on the database) by taking the
// engine's advisory lock: the engine locks a table plugin roles cannot.
func TestPluginSQL_CannotHoldTheMigrationLock(t *testing.T) {
	_, url := newDB(t)
	root := leastPrivilegeRoot(t)
	a := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url) })
	for _, sql := range []string{fmt.Sprintf("select pg_advisory_lock(%d)", advisoryMigrationLock),
		"lock table vbwd.migration_lock in exclusive mode"} {
		if ok, msg := a.sql(t, sql); !ok {
			t.Logf("%s: refused: %s", sql, msg)
		}
	}
	started := make(chan error, 1)
	b, err := New(Options{Root: root, DB: openPool(t, url), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	go func() { started <- b.Start(context.Background()) }()
	select {
	case err := <-started:
		defer b.Shutdown(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := b.Plugin("probe"); st.State != StateEnabled {
			t.Errorf("probe on the second engine is %s: %s", st.State, st.Error)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a second engine could not start within 30s: a plugin holds the migration lock")
	}
}
