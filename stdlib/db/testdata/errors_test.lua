-- Error tables, raised bad arguments, the build phase, the statement
-- timeout (db_timeout: 500 ms) and a module without database (db_none).
local db = require("vbwd.db")
local db_timeout = require("vbwd.db_timeout")
local db_none = require("vbwd.db_none")

local function must(v, e)
  if v == nil and e ~= nil then error(tostring(e), 2) end
  return v
end

must(db.exec("create table err_notes (id int primary key, slug text constraint err_notes_slug_key unique, body text not null)"))

test("a unique violation", function()
  must(db.exec("insert into err_notes values (1, 'hello', 'x')"))
  local r, e = db.exec("insert into err_notes values (2, $1, 'y')", "hello")
  eq(r, nil)
  eq(e.code, "23505")
  eq(e.constraint, "err_notes_slug_key")
  eq(e.message, 'duplicate key value violates unique constraint "err_notes_slug_key"')
  eq(e.detail, "Key (slug)=(hello) already exists.")
  eq(e.table, "err_notes")
  eq(e.schema, "public")
  eq(e.plugin, "test")
  eq(tostring(e), 'vbwd.db: duplicate key value violates unique constraint "err_notes_slug_key" (SQLSTATE 23505)')
  local succeeded, raised = pcall(error, e)
  ok(not succeeded and rawequal(raised, e), "error(err) raises the table")
end)

test("a not-null violation names the column", function()
  local r, e = db.exec("insert into err_notes (id, slug) values (3, 'z')")
  eq(r, nil)
  eq(e.code, "23502")
  eq(e.column, "body")
end)

test("each function returns nil, err", function()
  local r, e = db.query("select * from no_such_table")
  eq(r, nil)
  eq(e.code, "42P01")
  eq(e.message, 'relation "no_such_table" does not exist')
  r, e = db.query_one("selec 1")
  eq(r, nil)
  eq(e.code, "42601")
  r, e = db.exec("select 1 / 0")
  eq(r, nil)
  eq(e.code, "22012")
  r, e = db.query("select 1 / (x - 3) as v from generate_series(1, 5) x")
  eq(r, nil, "an error after some rows")
  eq(e.code, "22012")
end)

test("a bad value for the parameter type", function()
  local r, e = db.query("select $1::int as v", "not a number")
  eq(r, nil)
  eq(e.code, "22P02")
  r, e = db.query("select $1 as v")
  eq(r, nil, "missing argument")
  ok(e.message:find("expected 1 arguments, got 0"), e.message)
  eq(e.code, nil, "not from PostgreSQL")
  eq(tostring(e), "vbwd.db: " .. e.message, "no SQLSTATE")
end)

test("bad arguments raise", function()
  err(function() db.query(42) end, "bad argument #1")
  err(function() db.query_one() end, "bad argument #1")
  err(function() db.exec({}) end, "bad argument #1")
  err(function() db.query("select $1", function() end) end, "unsupported parameter type function")
  err(function() db.query("select $1, $2", 1, print) end, "bad argument #3")
  err(function() db.query("select $1", { f = function() end }) end, "cannot encode function")
  err(function() db.query("select $1", { 1, function() end }) end, "element 2")
  err(function() db.tx("not a function") end, "bad argument #1")
  err(function() db.json(function() end) end, "cannot encode function")
  local cyclic = {}
  cyclic.self = cyclic
  err(function() db.exec("select $1", cyclic) end, "cyclic")
end)

test("the build phase refuses every call", function()
  build_phase(function()
    for _, f in ipairs({ "query", "query_one", "exec" }) do
      err(function() db[f]("select 1") end,
        "vbwd.db: database calls are not allowed during initialize/routes/on_enable", f)
    end
    err(function() db.tx(function() end) end, "not allowed during initialize/routes/on_enable", "tx")
    eq(db.json({ 1 }), "[1]", "db.json does no I/O")
  end)
  db.tx(function(tx)
    build_phase(function()
      err(function() tx.query("select 1") end, "not allowed during", "tx.query")
    end)
  end)
end)

test("the statement timeout", function()
  local r, e = db_timeout.query("select pg_sleep(5)")
  eq(r, nil)
  eq(e.message, "query cancelled by the statement timeout (500ms)")
  ok(e.code == "deadline" or e.code == "57014", e.code)
  eq(must(db_timeout.query_one("select 1 as one")).one, 1, "usable afterwards")
  r, e = db_timeout.tx(function(tx)
    must(tx.query("select pg_sleep(0.3)"))
    must(tx.query("select pg_sleep(0.3)")) -- each call has its own timeout
    return "done"
  end)
  eq(r, "done")
end)

test("no database", function()
  for _, f in ipairs({ "query", "query_one", "exec" }) do
    local r, e = db_none[f]("select 1")
    eq(r, nil, f)
    eq(tostring(e), "vbwd.db: no database configured", f)
  end
  local called = false
  local okk, e = pcall(db_none.tx, function() called = true end)
  eq({ okk, called, e.message }, { false, false, "no database configured" }, "db.tx raises")
  eq(tostring(e), "vbwd.db: no database configured")
end)
