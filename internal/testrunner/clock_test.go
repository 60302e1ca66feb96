package testrunner

import (
	"strings"
	"testing"
)

const tickPlugin = `local P = { name = "tick", version = "1.0.0", url_prefix = "/api/tick" }
local events = require("vbwd.events")
local shared = require("vbwd.shared")
function P.on_enable(ctx)
  ctx:on("tick.ping", function()
    local n = shared.incr("attempts")
    if n == 1 then error("the first attempt fails") end
  end)
end
function P.routes(r)
  r:post("/ping", function()
    assert(events.publish("tick.ping", {}))
    return 202
  end)
  r:get("/attempts", function() return 200, { n = shared.get("attempts") or 0 } end)
end
return P
`

// Advancing the test clock past a retry's backoff delivers it, without a
// t.deliver() (issue 12: "t.clock advancing time makes due retries run").
func TestRunner_AdvanceDeliversDueRetries(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"plugins/tick/init.lua": tickPlugin,
		"plugins/tick/tests/tick_test.lua": `local t = require("vbwd.test")
t.test("a due retry runs when time advances", function()
  t.time.set("2026-12-01T10:00:00Z")
  t.eq(t.post("/api/tick/ping").status, 202)
  t.deliver()
  t.eq(t.get("/api/tick/attempts").json.n, 1, "the first attempt failed")
  t.time.advance(0.5)
  t.eq(t.get("/api/tick/attempts").json.n, 1, "the backoff has not passed")
  t.time.advance(60)
  t.eq(t.get("/api/tick/attempts").json.n, 2, "advancing past the backoff delivered the retry")
end)
`,
	})
	sum, out := run(t, root, Options{})
	if sum.Failed != 0 || sum.Passed != 1 {
		t.Errorf("summary %+v\n%s", sum, out)
	}
	if strings.Contains(out, "FAIL") {
		t.Error(out)
	}
}

// vbwd_now() follows the test clock inside vbwd test, in queries and in a
// column default of the plugin's migration.
func TestRunner_VbwdNowFollowsTheTestClock(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"plugins/stamp/init.lua": `local P = { name = "stamp", version = "1.0.0", url_prefix = "/api/stamp" }
local db = require("vbwd.db")
function P.routes(r)
  r:post("/", function()
    return 201, assert(db.query_one("insert into stamps default values returning at, vbwd_now() as now"))
  end)
end
return P
`,
		"plugins/stamp/migrations/20260101000000_stamps.sql": "-- migrate:up\ncreate table stamps (id serial primary key, at timestamptz not null default vbwd_now());\n-- migrate:down\ndrop table stamps;\n",
		"plugins/stamp/tests/stamp_test.lua": `local t = require("vbwd.test")
local db = require("vbwd.db")
t.test("SQL time is the test clock", function()
  t.time.set("2030-01-02T03:04:05Z")
  local res = t.post("/api/stamp/")
  t.eq(res.json.at, "2030-01-02T03:04:05Z")
  t.eq(res.json.now, "2030-01-02T03:04:05Z")
  t.time.advance(3600)
  t.eq(db.query_one("select vbwd_now() as n").n, "2030-01-02T04:04:05Z", "the test file's own queries too")
end)
`,
	})
	sum, out := run(t, root, Options{})
	if sum.Failed != 0 || sum.Passed != 1 {
		t.Errorf("summary %+v\n%s", sum, out)
	}
}

// ctx:every jobs run when the test clock passes their interval — once per
// advance however far it jumps, never by themselves in the background.
func TestRunner_AdvanceRunsDueJobs(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"plugins/cron/init.lua": `local P = { name = "cron", version = "1.0.0", url_prefix = "/api/cron" }
local shared = require("vbwd.shared")
function P.on_enable(ctx)
  ctx:every("cron.sweep", 60, function(job)
    shared.incr("runs")
    shared.set("last", job.scheduled_at)
  end)
  ctx:every("cron.hourly", 3600, function() shared.incr("hourly") end)
end
function P.routes(r)
  r:get("/runs", function() return 200, { runs = shared.get("runs") or 0, hourly = shared.get("hourly") or 0, last = shared.get("last") } end)
end
return P
`,
		"plugins/cron/tests/cron_test.lua": `local t = require("vbwd.test")
local function runs() return t.get("/api/cron/runs").json end
t.test("jobs follow the test clock", function()
  t.time.set("2026-12-01T10:00:00Z")
  t.eq(runs().runs, 0, "nothing runs by itself")
  t.time.advance(30)
  t.eq(runs().runs, 0, "the interval has not passed")
  t.time.advance(30)
  t.eq(runs().runs, 1, "60 s passed")
  t.eq(runs().last, "2026-12-01T10:01:00Z", "scheduled_at is the test clock")
  t.time.advance(600)
  t.eq(runs().runs, 2, "a jump runs a job once, as after a pause")
  t.eq(runs().hourly, 0)
  t.time.advance(3000)
  t.eq(runs().hourly, 1)
end)
`,
	})
	sum, out := run(t, root, Options{})
	if sum.Failed != 0 || sum.Passed != 1 {
		t.Errorf("summary %+v\n%s", sum, out)
	}
}
