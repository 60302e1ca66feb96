package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const poolDropPlugin = `
local db = require("vbwd.db")
function P.routes(r)
  r:get("/n", function()
    local row = assert(db.query_one("select count(*)::int as n from pooldrop_items"))
    return 200, { n = row.n }
  end)
end
`

// roleConns counts the sessions the plugin's role holds on this database.
func roleConns(t *testing.T, te *testEngine, role string) int {
	t.Helper()
	var n int
	err := te.opts.DB.QueryRow(context.Background(),
		"select count(*)::int from pg_stat_activity where usename = $1 and datname = current_database()", role).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A disabled plugin's database pool closes once its generation retired (its
// role holds no session) and opens again on the next enable.
func TestPluginPool_ClosedOnDisable(t *testing.T) {
	pool, _ := newDB(t)
	root := writeRoot(t, files{
		"plugins/pooldrop/init.lua": pluginSrc("pooldrop", "", poolDropPlugin),
		"plugins/pooldrop/migrations/20260101000001_items.sql": "-- migrate:up\ncreate table pooldrop_items (x int);\n" +
			"-- migrate:down\ndrop table pooldrop_items;\n",
	})
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	role := "vbwd_plugin_pooldrop"
	if res := te.do(t, "GET", "/api/pooldrop/n", ""); res.status != 200 {
		t.Fatalf("before disable: %d %s", res.status, res.body)
	}
	if n := roleConns(t, te, role); n == 0 {
		t.Fatal("the plugin's role holds no session while it serves: the test cannot see a close")
	}
	if err := te.Disable(context.Background(), "pooldrop", false); err != nil {
		t.Fatal(err)
	}
	waitNoConns(t, te, role, "disabled")
	if err := te.Enable(context.Background(), "pooldrop"); err != nil {
		t.Fatal(err)
	}
	if res := te.do(t, "GET", "/api/pooldrop/n", ""); res.status != 200 {
		t.Fatalf("after enable again: %d %s", res.status, res.body)
	}
	// a rescan that finds the directory gone retires it the same way
	if err := os.RemoveAll(filepath.Join(root, "plugins", "pooldrop")); err != nil {
		t.Fatal(err)
	}
	if _, err := te.Rescan(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitNoConns(t, te, role, "removed")
}

// waitNoConns waits (bounded) until the role holds no session: a backend
// leaves pg_stat_activity shortly after its client hung up.
func waitNoConns(t *testing.T, te *testEngine, role, how string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for roleConns(t, te, role) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s plugin's role still holds %d session(s) after 10s: its pool was not closed", how, roleConns(t, te, role))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const poolDropSlow = `
local db = require("vbwd.db")
function P.routes(r)
  -- waits for the test's advisory lock, then runs one more query
  r:get("/slow", function()
    assert(db.exec("select pg_advisory_lock(4242)"))
    assert(db.exec("select pg_advisory_unlock(4242)"))
    local row = assert(db.query_one("select 1 as n"))
    return 200, { n = row.n }
  end)
end
`

// A generation replaced by a reload keeps draining in the background; when
// the plugin is then disabled, the pool stays open until that generation
// too has retired: its in-flight request still runs SQL, and answers.
func TestPluginPool_KeptWhileReplacedGenerationDrains(t *testing.T) {
	pool, _ := newDB(t)
	root := writeRoot(t, files{"plugins/pooldrop/init.lua": pluginSrc("pooldrop", "", poolDropSlow)})
	te := startEngine(t, root, func(o *Options) { o.DB = pool; o.RequestTimeout = 30 * time.Second })
	ctx := context.Background()
	lock, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if _, err := lock.Exec(ctx, "select pg_advisory_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	answered := make(chan result, 1)
	go func() { answered <- te.do(t, "GET", "/api/pooldrop/slow", "") }()
	waitFor(t, func() bool { return inflight(te, "pooldrop") > 0 })
	// reload (changed files), then disable the new generation
	if err := os.WriteFile(filepath.Join(root, "plugins/pooldrop/init.lua"),
		[]byte(pluginSrc("pooldrop", "", poolDropSlow+"\n-- v2\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := te.Reload(ctx, "pooldrop"); err != nil {
		t.Fatal(err)
	}
	disabled := make(chan error, 1)
	go func() { disabled <- te.Disable(ctx, "pooldrop", false) }()
	select {
	case err := <-disabled:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		// closing the pool under the old generation's query waits for it
		t.Error("disable did not return within 10s: it waited on the replaced generation's query")
	}
	if _, err := lock.Exec(ctx, "select pg_advisory_unlock(4242)"); err != nil {
		t.Fatal(err)
	}
	if res := <-answered; res.status != 200 || res.json["n"] != float64(1) {
		t.Errorf("the replaced generation's request after the disable: %d %s", res.status, res.body)
	}
	waitNoConns(t, te, "vbwd_plugin_pooldrop", "disabled")
}
