package engine

import (
	"testing"
	"time"
)

// TestDeadline_CutsADatabaseQuery: a route's deadline ends a query still
// running in PostgreSQL — the database module's context is the call's, whose
// Done channel (made only when a host module asks, luavm.DeadlineCtx) must
// close at the deadline — and the client gets the 504 of a deadline, not
// the query's 5 s.
func TestDeadline_CutsADatabaseQuery(t *testing.T) {
	pool, _ := newDB(t)
	root := writeRoot(t, files{"plugins/slow/init.lua": pluginSrc("slow", "", `
local db = require("vbwd.db")
function P.routes(r)
  r:get("/sleep", { timeout = 0.3 }, function()
    local rows, err = db.query("select pg_sleep(5)")
    if err then error(err.message) end
    return 200, { slept = true }
  end)
  r:get("/fast", function()
    local row = assert(db.query_one("select 42 as n"))
    return 200, row
  end)
end`)})
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	for i := 0; i < 3; i++ { // the pool's states stay usable
		start := time.Now()
		res := te.do(t, "GET", "/api/slow/sleep", "")
		if res.status != 504 {
			t.Fatalf("status %d, want 504: %s", res.status, res.body)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("answered after %v: the query was not cut at the deadline", d)
		}
		if res := te.do(t, "GET", "/api/slow/fast", ""); res.status != 200 || res.json["n"] != float64(42) {
			t.Fatalf("fast: %d %s", res.status, res.body)
		}
	}
}
