package db

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

// vbwd_now() follows the module's clock in plain statements, inside db.tx,
// in column defaults, and after the clock moves; without a clock it is now().
func TestVbwdNowFollowsTheClock(t *testing.T) {
	pool := newPool(t)
	if _, err := pool.Exec(context.Background(), NowFunctionSQL); err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	now.Store(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	// the setting stays on a connection between statements: a module
	// without a clock gets a pool of its own (the engine sets the clock of
	// every plugin or of none)
	other := newPool(t)
	if _, err := other.Exec(context.Background(), NowFunctionSQL); err != nil {
		t.Fatal(err)
	}
	L := luatest.NewState(t, New(pool, Options{Plugin: "test", Clock: clock}), renamed{New(other, Options{Plugin: "test"}), "db_real"})
	run := func(code string) {
		t.Helper()
		if err := L.DoString(code); err != nil {
			t.Fatal(err)
		}
	}
	run(`
		db = require("vbwd.db")
		assert(db.exec("create table stamped (id int primary key, at timestamptz not null default vbwd_now())"))
		eq(db.query_one("select vbwd_now() as t").t, "2001-02-03T04:05:06Z")
		eq(db.tx(function(tx)
			assert(tx.exec("insert into stamped (id) values (1)"))
			return tx.query_one("select vbwd_now() as t").t
		end), "2001-02-03T04:05:06Z")
		eq(db.query_one("select at from stamped where id = 1").at, "2001-02-03T04:05:06Z", "a column default")`)
	now.Add(3600)
	run(`
		eq(db.query_one("select vbwd_now() as t").t, "2001-02-03T05:05:06Z", "the clock moved")
		local real = require("vbwd.db_real").query_one("select vbwd_now() = now() as same")
		eq(real.same, true, "without a clock vbwd_now() is now()")`)
}
