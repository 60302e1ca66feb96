-- vbwd.test: the Lua half of the plugin test module. host holds the Go
-- functions (request, populate, time, events); this file returns the module.
local host = ...
local json = require("vbwd.json")

local M = {}
local tests = {}

-- fail raises a test failure that names the line of the test calling the
-- assertion: fail <- assertion <- test code is level 3 in Lua 5.1, and
-- gopher-lua counts error levels one further, so 4.
local function fail(msg, level)
  error(msg, level or 4)
end

function M.test(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    fail("test(name, fn): a string and a function expected")
  end
  tests[#tests + 1] = { name = name, fn = fn }
end

local function repr(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  if depth > 4 then return "{...}" end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return type(a) < type(b)
  end)
  local parts = {}
  for _, k in ipairs(keys) do
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. repr(k, depth + 1) .. "]"
    parts[#parts + 1] = key .. " = " .. repr(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end
M.repr = repr

-- diff lists where two values differ, path by path.
local function diff(a, b, path, out)
  if a == b or (a ~= a and b ~= b) then return out end
  if type(a) ~= "table" or type(b) ~= "table" then
    out[#out + 1] = string.format("  %s: expected %s, got %s", path, repr(b), repr(a))
    return out
  end
  local keys, seen = {}, {}
  for k in pairs(b) do if not seen[k] then seen[k] = true; keys[#keys + 1] = k end end
  for k in pairs(a) do if not seen[k] then seen[k] = true; keys[#keys + 1] = k end end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  for _, k in ipairs(keys) do
    local sub = type(k) == "number" and path .. "[" .. k .. "]" or path .. "." .. tostring(k)
    diff(rawget(a, k), rawget(b, k), sub, out)
  end
  return out
end

function M.eq(actual, expected, msg)
  local d = diff(actual, expected, "value", {})
  if #d > 0 then
    fail((msg and msg .. ": " or "") .. "not equal\n" .. table.concat(d, "\n"))
  end
end

function M.ok(v, msg)
  if not v then fail(msg or ("expected a true value, got " .. repr(v))) end
end

function M.match(s, pattern, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    fail((msg and msg .. ": " or "") .. repr(s) .. " does not match " .. repr(pattern))
  end
end

function M.err(fn, pattern, msg)
  local okv, e = pcall(fn)
  if okv then fail((msg and msg .. ": " or "") .. "expected an error") end
  local text = type(e) == "table" and (e.message or repr(e)) or tostring(e)
  if pattern and not text:find(pattern) then
    fail((msg and msg .. ": " or "") .. "error " .. repr(text) .. " does not match " .. repr(pattern))
  end
  return e
end

-- request performs an in-process HTTP request through the engine's router.
local function request(method, path, opts)
  opts = opts or {}
  local body = opts.body
  local headers = opts.headers or {}
  if opts.json ~= nil then
    body = json.encode(opts.json)
    headers["content-type"] = headers["content-type"] or "application/json"
  end
  local res = host.request(method, path, body, headers, opts.as)
  local ctype = res.headers["content-type"] or ""
  if ctype:find("application/json", 1, true) and res.body ~= "" then
    res.json = json.decode(res.body)
  end
  return res
end

for _, m in ipairs({ "get", "post", "put", "patch", "delete" }) do
  M[m] = function(path, opts) return request(string.upper(m), path, opts) end
end

M.populate = host.populate
M.deliver = host.deliver
M.config = host.config

-- t.http: vbwd.http stubs for this test (tests never reach the network).
M.http = {}
function M.http.stub(method, pattern, res)
  if type(method) ~= "string" or type(pattern) ~= "string" then
    fail("http.stub(method, url_pattern, response): strings expected")
  end
  res = res or {}
  local body, headers = res.body, {}
  for k, v in pairs(res.headers or {}) do headers[k] = v end
  if res.json ~= nil then
    body = json.encode(res.json)
    headers["content-type"] = headers["content-type"] or "application/json"
  end
  host.http_stub(method, pattern, res.status or 200, body, headers)
end
function M.http.calls()
  local calls = host.http_calls()
  for _, c in ipairs(calls) do
    local ctype = c.headers["content-type"] or ""
    if ctype:find("json", 1, true) and c.body ~= "" then c.json = json.decode(c.body) end
  end
  return calls
end
M.time = { set = host.time_set, advance = host.time_advance, now = host.time_now }

-- expect_event(name) returns the events named name published or emitted
-- since the test began; fails when there is none.
function M.expect_event(name, msg)
  local list = host.events(name)
  if #list == 0 then fail((msg and msg .. ": " or "") .. "no event " .. name .. " was published or emitted") end
  return list[#list], list
end

function M._tests() return tests end

return M
