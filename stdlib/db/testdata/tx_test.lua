-- Transactions: commit, rollback with the same error re-raised, savepoints,
-- closed tx objects, and db.* calls joining the open transaction.
local db = require("vbwd.db")
local time = require("vbwd.time")

local function must(v, e)
  if v == nil and e ~= nil then error(tostring(e), 2) end
  return v
end

must(db.exec("create table tx_items (name text primary key)"))

local function names()
  local out = {}
  for i, row in ipairs(must(db.query("select name from tx_items order by name"))) do
    out[i] = row.name
  end
  return out
end

local function reset()
  must(db.exec("delete from tx_items"))
end

test("commit returns the function's results", function()
  reset()
  local a, b, c = db.tx(function(tx)
    eq(must(tx.exec("insert into tx_items values ($1), ($2)", "a", "b")), 2)
    return 1, nil, "three"
  end)
  eq({ a, b, c }, { 1, nil, "three" })
  eq(select("#", db.tx(function() end)), 0, "no results")
  eq(names(), { "a", "b" })
end)

test("the tx functions", function()
  reset()
  db.tx(function(tx)
    must(tx.exec("insert into tx_items values ('x'), ('y')"))
    eq(must(tx.query("select name from tx_items order by name")), { { name = "x" }, { name = "y" } })
    eq(must(tx.query_one("select name from tx_items where name = $1", "y")), { name = "y" })
    eq(tx.query_one("select name from tx_items where name = 'none'"), nil)
  end)
  eq(names(), { "x", "y" })
end)

test("an error rolls back and is re-raised", function()
  reset()
  local e = err(function()
    db.tx(function(tx)
      must(tx.exec("insert into tx_items values ('gone')"))
      error("boom")
    end)
  end, "boom")
  ok(e:find("tx_test.lua:%d+: boom"), "the message keeps its position: " .. e)
  eq(names(), {})
end)

test("an error table arrives intact", function()
  reset()
  local raised = { status = 409, message = "already taken", field = "name" }
  local succeeded, got = pcall(db.tx, function(tx)
    must(tx.exec("insert into tx_items values ('gone')"))
    error(raised)
  end)
  eq(succeeded, false)
  ok(rawequal(got, raised), "the very table")
  eq(got, { status = 409, message = "already taken", field = "name" })
  eq(names(), {})
end)

test("inner rollback keeps the outer work", function()
  reset()
  db.tx(function(tx)
    must(tx.exec("insert into tx_items values ('outer')"))
    local succeeded, e = pcall(tx.tx, function(sp)
      must(sp.exec("insert into tx_items values ('inner')"))
      error({ code = "inner failed" })
    end)
    eq({ succeeded, e }, { false, { code = "inner failed" } })
    eq(#must(tx.query("select * from tx_items where name = 'inner'")), 0)
    must(tx.exec("insert into tx_items values ('after')"))
  end)
  eq(names(), { "after", "outer" })
end)

test("inner commit and outer rollback discard both", function()
  reset()
  pcall(db.tx, function(tx)
    must(tx.exec("insert into tx_items values ('outer')"))
    tx.tx(function(sp)
      must(sp.exec("insert into tx_items values ('inner')"))
    end)
    eq(#must(tx.query("select * from tx_items")), 2, "the released savepoint's row is visible")
    error("undo all")
  end)
  eq(names(), {})
end)

test("the outer tx works inside a savepoint, as SQL would", function()
  reset()
  db.tx(function(tx)
    pcall(tx.tx, function()
      must(tx.exec("insert into tx_items values ('via outer')"))
      error("undo")
    end)
  end)
  eq(names(), {}, "it ran inside the savepoint")
end)

test("a savepoint recovers from a failed statement", function()
  reset()
  db.tx(function(tx)
    must(tx.exec("insert into tx_items values ('kept')"))
    pcall(tx.tx, function(sp)
      local r, e = sp.exec("insert into tx_items values ('kept')")
      eq(r, nil)
      eq(e.code, "23505")
      error(e)
    end)
    must(tx.exec("insert into tx_items values ('too')"))
  end)
  eq(names(), { "kept", "too" })
end)

test("a failed statement makes the commit fail", function()
  reset()
  local r, e = db.tx(function(tx)
    must(tx.exec("insert into tx_items values ('lost')"))
    local _, failed = tx.exec("select 1 / 0")
    eq(failed.code, "22012")
    local _, aborted = tx.exec("select 1")
    eq(aborted.code, "25P02", "the transaction is aborted")
    return "done"
  end)
  eq(r, nil)
  ok(e.message:find("rollback"), e.message)
  eq(names(), {})
end)

test("tx functions raise after the transaction ended", function()
  local saved, saved_sp
  db.tx(function(tx)
    saved = tx
    tx.tx(function(sp) saved_sp = sp end)
    err(function() saved_sp.query("select 1") end, "vbwd.db: transaction is closed", "savepoint ended")
  end)
  for _, f in ipairs({ "query", "query_one", "exec" }) do
    err(function() saved[f]("select 1") end, "vbwd.db: transaction is closed", f)
  end
  err(function() saved.tx(function() end) end, "vbwd.db: transaction is closed", "tx")
  pcall(db.tx, function(tx) saved = tx; error("x") end)
  err(function() saved.exec("select 1") end, "transaction is closed", "after a rollback")
end)

test("db calls inside db.tx join the transaction", function()
  reset()
  pcall(db.tx, function()
    must(db.exec("insert into tx_items values ('joined')"))
    eq(must(db.query_one("select count(*) as n from tx_items")).n, 1, "db.query sees the uncommitted row")
    eq(#must(db.query("select * from tx_items")), 1)
    error("roll back")
  end)
  eq(names(), {}, "db.exec was rolled back with the transaction")
end)

test("db.tx inside db.tx is a savepoint", function()
  reset()
  db.tx(function()
    must(db.exec("insert into tx_items values ('outer')"))
    pcall(db.tx, function()
      must(db.exec("insert into tx_items values ('inner')"))
      error("undo inner")
    end)
    db.tx(function() must(db.exec("insert into tx_items values ('second')")) end)
  end)
  eq(names(), { "outer", "second" })
end)

test("a Lua runtime error inside tx", function()
  reset()
  local e = err(function()
    db.tx(function(tx)
      must(tx.exec("insert into tx_items values ('gone')"))
      local x = nil
      return x.field
    end)
  end, "attempt to index")
  eq(names(), {})
  -- the connection went back to the pool clean: a new transaction works
  db.tx(function(tx) must(tx.exec("insert into tx_items values ('fine')")) end)
  eq(names(), { "fine" })
end)

test("the request deadline inside db.tx rolls back", function()
  reset()
  local start = time.now()
  err(function()
    with_timeout(0.2, function()
      db.tx(function(tx)
        must(tx.exec("insert into tx_items values ('late')"))
        tx.query("select pg_sleep(5)") -- cut at the deadline; the next Lua instruction raises
        must(tx.exec("insert into tx_items values ('never')"))
      end)
    end)
  end, "context deadline exceeded")
  ok(time.since(start) < 2, "cut short by the deadline")
  eq(names(), {})
end)
