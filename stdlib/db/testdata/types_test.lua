-- Every type of the mapping, both ways: a Lua value inserted as a parameter
-- reads back as the expected Lua value, and that value used as a parameter
-- finds the row again. TestLua gives a fresh database for the whole run.
local db = require("vbwd.db")
local json = require("vbwd.json")

local function must(v, e)
  if v == nil and e ~= nil then error(tostring(e), 2) end
  return v
end

local n = 0

-- roundtrip stores value in a fresh table with a column of type typ, reads
-- it back and checks it equals expected (value when omitted), then finds
-- the row again with the read value as a parameter (cmp is the comparison,
-- "v = $1" by default).
local function roundtrip(typ, value, expected, cmp)
  n = n + 1
  local t = "rt_" .. n
  must(db.exec("create table " .. t .. " (id int, v " .. typ .. ")"))
  eq(must(db.exec("insert into " .. t .. " (id, v) values (1, $1)", value)), 1)
  local row = must(db.query_one("select id, v from " .. t))
  if expected == nil then expected = value end
  eq(row.v, expected, typ)
  if cmp ~= false then
    local again = must(db.query_one("select id from " .. t .. " where " .. (cmp or "v = $1"), row.v))
    eq(again and again.id, 1, typ .. ": the read value finds the row")
  end
  return row.v
end

test("integers", function()
  roundtrip("int2", -32768)
  roundtrip("int4", 2147483647)
  roundtrip("int8", 9007199254740991) -- 2^53 - 1, exact
  roundtrip("int8", -42)
  roundtrip("oid", 4000000000)
  roundtrip("int4", 7.0, 7) -- an integral float is an integer
end)

test("floats", function()
  roundtrip("float4", 1.5)
  roundtrip("float8", 0.1)
  roundtrip("float8", -1e300)
  roundtrip("float8", 1 / 0)
  roundtrip("float8", 0 / 0) -- NaN equals NaN in eq and in PostgreSQL, not in Lua
  roundtrip("float8", 3, 3)
end)

test("numeric keeps every digit and the scale", function()
  roundtrip("numeric", "123456789012345678901234567890")
  roundtrip("numeric", "-123456789012345678901234567890.123456789012345678901234567890")
  roundtrip("numeric", "12.50")
  roundtrip("numeric", "0.00001")
  roundtrip("numeric", "10000")
  roundtrip("numeric(10,2)", 3.14159, "3.14")
  roundtrip("numeric", 1.5, "1.5")
  roundtrip("numeric", 42, "42")
  roundtrip("numeric", "NaN")
  roundtrip("numeric", "Infinity")
end)

test("text types", function()
  roundtrip("text", "héllo wörld ✓")
  roundtrip("text", "")
  roundtrip("text", [[back\slash and "quotes"]])
  roundtrip("varchar(10)", "short")
  roundtrip("char(5)", "ab", "ab   ")
  roundtrip("name", "a_name")
  roundtrip("text", 12, "12") -- numbers fill text parameters
  roundtrip("text", true, "true")
end)

test("citext", function()
  local done, e = db.exec("create extension if not exists citext")
  if not done then
    print("citext is not installed, skipping: " .. tostring(e))
    return
  end
  roundtrip("citext", "MiXeD")
  ok(db.query_one("select 1 as one where $1::citext = 'mixed'", "MIXED"), "citext compares without case")
end)

test("boolean", function()
  roundtrip("bool", true)
  roundtrip("bool", false)
end)

test("uuid", function()
  roundtrip("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
  roundtrip("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12")
  roundtrip("uuid", "{a0eebc999c0b4ef8bb6d6bb9bd380a13}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13")
end)

test("timestamptz is RFC 3339 in UTC", function()
  roundtrip("timestamptz", "2026-11-26T12:34:56Z")
  roundtrip("timestamptz", "2026-11-26T12:34:56.789Z")
  roundtrip("timestamptz", "2026-11-26T12:34:56.000001Z")
  roundtrip("timestamptz", "2026-11-26T13:34:56.5+01:00", "2026-11-26T12:34:56.5Z")
  roundtrip("timestamptz", "1969-07-20 20:17:40.25-00", "1969-07-20T20:17:40.25Z")
  roundtrip("timestamptz", "infinity")
  roundtrip("timestamptz", "-infinity")
  local row = db.query_one("select now() as t")
  ok(row.t:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[.%d]*Z$"), row.t)
end)

test("timestamp has no offset", function()
  roundtrip("timestamp", "2026-11-26T12:34:56")
  roundtrip("timestamp", "2026-11-26T12:34:56.123456")
  roundtrip("timestamp", "2026-11-26 12:34:56.100", "2026-11-26T12:34:56.1")
  roundtrip("timestamp", "infinity")
end)

test("date, time and interval", function()
  roundtrip("date", "2026-11-26")
  roundtrip("date", "1999-12-31")
  roundtrip("date", "0044-03-15 BC")
  roundtrip("date", "infinity")
  roundtrip("time", "12:34:56")
  roundtrip("time", "00:00:00.000001")
  roundtrip("time", "23:59:59.5")
  roundtrip("interval", "1 year 2 months 3 days 04:05:06.5", "1 year 2 mons 3 days 04:05:06.5")
  roundtrip("interval", "-1 day +02:00:00", "-1 days +02:00:00")
  roundtrip("interval", "90 minutes", "01:30:00")
  roundtrip("interval", "0", "00:00:00")
  roundtrip("interval", "-3 mons", "-3 mons")
end)

test("json and jsonb", function()
  local doc = {
    name = "tarot",
    cards = { { name = "fool", n = 0 }, { name = "magician", n = 1.5 } },
    none = db.null,
    empty = json.array(),
    nested = { deep = { deeper = { "x", db.null, true } } },
    text = [[quote " backslash \ unicode ✓]],
  }
  roundtrip("jsonb", doc)
  roundtrip("json", doc, nil, "v::jsonb = $1::jsonb")
  roundtrip("jsonb", db.json({ 1, 2, 3 }), { 1, 2, 3 })
  roundtrip("jsonb", { 1, "two", db.null }, { 1, "two", db.null }) -- an array parameter encodes as a JSON array
  roundtrip("jsonb", '{"from": "a string"}', { from = "a string" }, "v = $1")
  roundtrip("jsonb", "[]", json.array())
  local v = roundtrip("jsonb", db.json(json.array()), {})
  eq(json.encode(v), "[]", "an empty JSON array stays an array")
  local null = must(db.query_one("select 'null'::jsonb as v"))
  eq(null.v, db.null, "JSON null is db.null, the column is present")
  eq(db.null, json.null)
end)

test("bytea keeps every byte", function()
  local bytes = "\0\1\2\255 zero\0bytes \\x00 and \\ backslashes"
  local v = roundtrip("bytea", bytes)
  eq(#v, #bytes)
  roundtrip("bytea", "plain text")
  roundtrip("bytea", "caf\195\169") -- UTF-8 é
  roundtrip("bytea", "\255\254 not utf-8")
  roundtrip("bytea", "")
end)

test("NULLs", function()
  must(db.exec("create table nulls (id int, a text, b int, c jsonb)"))
  must(db.exec("insert into nulls values (1, $1, $2, $3)", nil, db.null, nil))
  local row = must(db.query_one("select * from nulls"))
  eq(row, { id = 1 }, "NULL columns are absent")
  local n = 0
  for _ in pairs(row) do n = n + 1 end
  eq(n, 1)
  eq(must(db.query_one("select $1::int is null as isnull", db.null)).isnull, true)
end)

test("arrays", function()
  roundtrip("int4[]", { 1, 2, 3 })
  roundtrip("int8[]", { 1, db.null, 3 }, nil, "v is not distinct from $1")
  roundtrip("text[]", { "a", "b c", "", "NULL", [["q"]], [[back\slash]], "{brace,comma}" })
  roundtrip("text[]", { "x", db.null }, nil, "v is not distinct from $1")
  roundtrip("float8[]", { 1.5, 2, -3.25 })
  roundtrip("numeric[]", { "1.50", "123456789012345678901234567890" })
  roundtrip("bool[]", { true, false, db.null }, nil, "v is not distinct from $1")
  roundtrip("uuid[]", { "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" })
  roundtrip("date[]", { "2026-11-26", "2000-01-01" })
  roundtrip("timestamptz[]", { "2026-11-26T12:00:00Z", "2026-11-26T12:00:00.5Z" })
  roundtrip("jsonb[]", { { a = 1 }, { 1, 2 } })
  roundtrip("bytea[]", { "ab", "c" })
  local empty = roundtrip("int4[]", json.array(), {})
  eq(json.encode(empty), "[]", "an empty array stays an array")
  local v = roundtrip("int4[]", { 1, 2 })
  eq(json.encode(v), "[1,2]")
end)

test("multi-dimensional arrays come back nested", function()
  local row = must(db.query_one("select '{{1,2},{3,NULL}}'::int[] as m, '[0:1]={a,b}'::text[] as lb"))
  eq(row.m, { { 1, 2 }, { 3, db.null } })
  eq(row.lb, { "a", "b" }, "Lua arrays start at 1 whatever the lower bound")
end)

test("enums and other types read as their text form", function()
  must(db.exec("create type mood as enum ('happy', 'sad')"))
  roundtrip("mood", "happy")
  roundtrip("mood[]", { "happy", "sad" }, "{happy,sad}", false)
  eq(must(db.query_one("select $1::mood[]::text[] as v", { "sad" })).v, { "sad" }, "cast to text[] for an array")
  local row = must(db.query_one(
    "select '192.168.0.1/24'::inet as ip, '(1,2)'::point as p, '[1,5)'::int4range as r, '12.5'::money as m"))
  eq(row, { ip = "192.168.0.1/24", p = "(1,2)", r = "[1,5)", m = "$12.50" })
end)
