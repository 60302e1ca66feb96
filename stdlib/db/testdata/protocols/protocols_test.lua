-- The same queries through vbwd.db (extended protocol, binary results where
-- decoded, a session with DateStyle SQL/DMY, IntervalStyle iso_8601 and
-- TimeZone Asia/Kolkata) and vbwd.db_simple (simple protocol: every value
-- as text, TimeZone America/New_York, bytea_output escape) give equal Lua
-- values: the session's settings do not leak into what Lua sees.
local db = require("vbwd.db")
local simple = require("vbwd.db_simple")
local json = require("vbwd.json")

local function must(v, e)
  if v == nil and e ~= nil then error(tostring(e), 2) end
  return v
end

local queries = {
  integers = [[select 1::int2 as a, -2::int4 as b, 9007199254740991::int8 as c, 4000000000::oid as d]],
  floats = [[select 1.5::float4 as a, 0.1::float8 as b, 'NaN'::float8 as c, '-Infinity'::float8 as d, 1e300::float8 as e]],
  numeric = [[select 123456789012345678901234567890.5::numeric as a, 'NaN'::numeric as b, 12.50::numeric as c,
    -0.000001::numeric as d, 'Infinity'::numeric as e, 0::numeric as f, 10000::numeric as g]],
  text = [[select 'x'::text as a, 'y'::varchar as b, 'z'::char(3) as c, 'n'::name as d, '' as e]],
  bool = [[select true as t, false as f]],
  uuid = [[select 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u]],
  timestamps = [[select '2026-11-26T12:34:56.5Z'::timestamptz as a, '2026-11-26 12:34:56.25'::timestamp as b,
    'infinity'::timestamptz as c, '1969-07-20T20:17:40Z'::timestamptz as d, '2026-01-01 00:00:00'::timestamp as e]],
  dates = [[select '2026-11-26'::date as a, '12:34:56.5'::time as b, '00:00:00'::time as c, '0044-03-15 BC'::date as d]],
  intervals = [[select '1 year 2 mons -3 days 04:05:06.5'::interval as a, '-1 day +02:00:00'::interval as b,
    '0'::interval as c, '-00:00:01.25'::interval as d, '100 hours'::interval as e, '1 mon -1 sec'::interval as f]],
  json = [[select '{"a": [1, null, {"b": "c"}], "e": []}'::jsonb as a, '[1, 2.5, "x"]'::json as b, 'null'::jsonb as c]],
  bytea = [[select '\x00ff41'::bytea as a, '\x5c'::bytea as b, ''::bytea as c]],
  arrays = [[select '{1,NULL,3}'::int[] as a, '{{1,2},{3,4}}'::int[] as b,
    array['a b', null, 'q"uote', 'back\slash', '', 'NULL', '{}'] as c, '{}'::int[] as d]],
  arrays2 = [[select '{2026-11-26T12:00:00Z}'::timestamptz[] as a, '{1.50,NaN}'::numeric[] as b,
    array['{"a": 1}'::jsonb, '[]'] as c, array['\x00ff'::bytea, '\x'] as d, '{t,f,NULL}'::bool[] as e,
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'::uuid[] as f, '{2026-11-26}'::date[] as g, '{1 day}'::interval[] as h]],
  others = [[select '[1,5)'::int4range as a, row(1, 'a b') as b, '192.168.0.1/24'::inet as c,
    '{"(1,2)","(3,4)"}'::point[] as d, '{(1,2),(0,0);(3,3),(2,2)}'::box[] as e, '{10.0.0.1,NULL}'::inet[] as f,
    'a fat cat'::tsvector as g]], -- not tsrange: its text form follows DateStyle
  nulls = [[select null::int as a, 1 as b, null::text[] as c]],
}

for name, q in pairs(queries) do
  test(name, function()
    local a = must(db.query(q))
    local b = must(simple.query(q))
    eq(a, b, name)
  end)
end

test("parameters", function()
  local q = [[select $1::int as a, $2::text as b, $3::jsonb as c, $4::text[] as d, $5::numeric as e,
    $6::timestamptz as f, $7::int[] as g, $8::bool as h, $9::uuid as i, $10::date as j]]
  local params = { 1, "x'y", { k = { 1, 2 } }, { "p", db.null }, "1.50", "2026-11-26T12:00:00Z",
    { 1, 2 }, true, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "2026-11-26" }
  local a = must(db.query_one(q, unpack(params, 1, 10)))
  local b = must(simple.query_one(q, unpack(params, 1, 10)))
  eq(a, b)
  eq(a.c, { k = { 1, 2 } })
  eq(a.d, { "p", db.null })
  eq(json.encode(a.g), "[1,2]")
end)
