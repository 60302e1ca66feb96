package main

import (
	"os"
	"path/filepath"
)

// The benchmark root: two plugins whose routes mirror the native reference
// (native.go) one for one. benchsvc provides a DI service; bench serves the
// measured routes under /bench.
var rootFiles = map[string]string{
	"plugins.json": `{"plugins": {"benchsvc": {"enabled": true}, "bench": {"enabled": true}}}`,
	"config.json":  `{}`,
	"plugins/benchsvc/init.lua": `local P = { name = "benchsvc", version = "1.0.0", description = "benchmark DI provider" }
function P.on_enable(ctx)
  ctx:provide("benchsvc.math", { double = function(n) return n * 2 end })
end
return P
`,
	"plugins/bench/init.lua": `local db = require("vbwd.db")
local di = require("vbwd.di")
local events = require("vbwd.events")

local P = {
  name = "bench",
  version = "1.0.0",
  description = "the external benchmark's routes",
  dependencies = { "benchsvc@^1.0" },
  url_prefix = "/bench",
}

function P.on_enable(ctx)
  ctx:permission("bench.read", { description = "read the benchmark's secure route", roles = { "reader" } })
end

function P.routes(r)
  r:get("/hello/{name}", function(req)
    return 200, { hello = req.params.name, n = 42, list = { 1, 2, 3 } }
  end)

  r:get("/items/{id}", function(req)
    local row, err = db.query_one("select id, name, qty from bench_items where id = $1", tonumber(req.params.id))
    if err then error(tostring(err)) end
    if not row then error({ status = 404, message = "no such item" }) end
    return 200, row
  end)

  r:post("/items", function(req)
    local body = req:json()
    local id = db.tx(function(tx)
      local row, err = tx.query_one("insert into bench_items (name, qty) values ($1, $2) returning id", body.name, body.qty)
      if err then error(tostring(err)) end
      local _, perr = events.publish("bench.item_created", { id = row.id, name = body.name })
      if perr then error(tostring(perr)) end
      return row.id
    end)
    return 201, { id = id }
  end)

  r:get("/svc/{n}", function(req)
    local svc, err = di.get("benchsvc.math")
    if not svc then error(tostring(err)) end
    return 200, { result = svc.double(tonumber(req.params.n)) }
  end)

  r:get("/secure", { permission = "bench.read" }, function(req)
    return 200, { user = req.user.id }
  end)
end

return P
`,
	"plugins/bench/migrations/20261128000000_items.sql": `-- migrate:up
create table bench_items (
  id   bigserial primary key,
  name text not null,
  qty  integer not null
);
insert into bench_items (name, qty) select 'item ' || g, g from generate_series(1, 1000) g;

-- migrate:down
drop table bench_items;
`,
}

// writeRoot writes the benchmark root into dir.
func writeRoot(dir string) error {
	for name, body := range rootFiles {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
