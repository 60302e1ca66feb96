-- query, query_one, exec and parameters.
local db = require("vbwd.db")
local json = require("vbwd.json")

local function must(v, e)
  if v == nil and e ~= nil then error(tostring(e), 2) end
  return v
end

must(db.exec([[
  create table q_notes (id int primary key, title text, tags text[], meta jsonb);
  insert into q_notes values (1, 'one', '{a,b}', '{"n": 1}'), (2, 'two', '{}', null), (3, 'three', null, '[]')
]]))

test("query returns the rows in order", function()
  local rows = must(db.query("select id, title from q_notes order by id"))
  eq(rows, { { id = 1, title = "one" }, { id = 2, title = "two" }, { id = 3, title = "three" } })
  eq(json.encode(rows[1]), '{"id":1,"title":"one"}')
end)

test("query with no rows is an empty array", function()
  local rows = must(db.query("select * from q_notes where id > 100"))
  eq(rows, {})
  eq(json.encode(rows), "[]")
end)

test("query_one", function()
  eq(must(db.query_one("select title from q_notes where id = $1", 2)), { title = "two" })
  eq(db.query_one("select title from q_notes where id = $1", 200), nil, "nil when there is no row")
  eq(must(db.query_one("select id from q_notes order by id desc")), { id = 3 }, "the first of many rows")
end)

test("row values", function()
  local row = must(db.query_one("select * from q_notes where id = 1"))
  eq(row, { id = 1, title = "one", tags = { "a", "b" }, meta = { n = 1 } })
  row = must(db.query_one("select * from q_notes where id = 2"))
  eq(row, { id = 2, title = "two", tags = {} })
  eq(json.encode(row.tags), "[]")
  row = must(db.query_one("select * from q_notes where id = 3"))
  eq(json.encode(row.meta), "[]")
end)

test("column names", function()
  eq(must(db.query_one("select 1, 2 as b")), { ["?column?"] = 1, b = 2 })
  eq(must(db.query_one("select 1 as a, 2 as a")), { a = 2 }, "the last of duplicate names wins")
  eq(must(db.query_one([[select 1 as "Mixed Case"]])), { ["Mixed Case"] = 1 })
end)

test("exec returns the rows affected", function()
  must(db.exec("create table q_counts (n int)"))
  eq(must(db.exec("insert into q_counts select generate_series(1, 3)")), 3)
  eq(must(db.exec("update q_counts set n = n + 1 where n > $1", 1)), 2)
  eq(must(db.exec("delete from q_counts where n = $1", 100)), 0)
  eq(must(db.exec("drop table q_counts")), 0)
end)

test("parameters", function()
  eq(must(db.query_one("select $1::int + $2::int as sum", 2, 3)).sum, 5)
  eq(must(db.query_one("select $1 as v", "untyped is text")).v, "untyped is text")
  eq(must(db.query_one("select $1 as v", 5)).v, "5", "a number fills a text parameter")
  eq(must(db.query_one("select $1::float8 as v", 2.5)).v, 2.5)
  eq(must(db.query_one("select $1::bool and true as v", true)).v, true)
  eq(must(db.query_one("select $1::text is null as v", nil)).v, true)
  local ids = must(db.query("select id from q_notes where id = any($1) order by id", { 3, 1 }))
  eq(ids, { { id = 1 }, { id = 3 } })
  ids = must(db.query("select id from q_notes where title = any($1) order by id", { "two", "nope" }))
  eq(ids, { { id = 2 } })
  eq(must(db.query_one("select cardinality($1::int[]) as n", json.array())).n, 0)
  eq(must(db.query_one("select array_length($1::text[], 1) as n", { "a", db.null, "c" })).n, 3)
  eq(must(db.query_one("select $1::int[] as v", { db.null, db.null })).v, { db.null, db.null })
  eq(must(db.query_one("select $1::int[] as v", { 1, db.null })).v, { 1, db.null })
  eq(must(db.query_one("select $1::float8[] as v", { 1.5, db.null })).v, { 1.5, db.null })
  eq(must(db.query_one("select $1::bool[] as v", { db.null, true })).v, { db.null, true })
  eq(must(db.query_one("select $1::jsonb as v", { a = { 1, 2 }, b = "x" })).v, { a = { 1, 2 }, b = "x" })
  eq(must(db.query_one("select $1::jsonb ->> 'k' as v", { k = "obj" })).v, "obj")
  eq(must(db.query_one("select jsonb_typeof($1::jsonb) as v", db.json({ 1, 2 }))).v, "array")
  eq(must(db.query_one("select $1::text as v", { k = 1 })).v, '{"k":1}', "an object is JSON text for text too")
end)

test("parameters are never interpolated", function()
  local evil = "x'); drop table q_notes; --"
  eq(must(db.query_one("select $1 as v", evil)).v, evil)
  ok(must(db.query_one("select count(*) as n from q_notes")).n == 3)
end)

test("db.null and json.null", function()
  eq(db.null, json.null)
  eq(tostring(db.null), "null")
  eq(must(db.query_one("select array[1, null]::int[] as v")).v, { 1, db.null })
end)
