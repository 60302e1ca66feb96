-- The luatest globals implemented in Lua. Returns the list that test() fills.
--
-- The assertions raise with error(msg, 3) to blame their caller's line:
-- gopher-lua counts error levels one further than Lua 5.1 does (level 2
-- names the function that called error). luatest_test.go pins this.
local tests = {}

function test(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("test(name, fn): expected a string and a function", 3)
  end
  tests[#tests + 1] = { name = name, fn = fn }
end

local function repr(v, depth)
  depth = depth or 0
  if type(v) == "string" then
    return string.format("%q", v)
  elseif type(v) ~= "table" then
    return tostring(v)
  elseif depth > 3 then
    return "{...}"
  end
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

local function deep_eq(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then
    return a ~= a and b ~= b -- NaN equals NaN here
  end
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not deep_eq(v, rawget(b, k), seen) then return false end
  end
  for k in pairs(b) do
    if rawget(a, k) == nil then return false end
  end
  return true
end

function eq(actual, expected, msg)
  if not deep_eq(actual, expected, {}) then
    error(string.format("%s: expected %s, got %s", msg or "eq", repr(expected), repr(actual)), 3)
  end
end

function ok(v, msg)
  if not v then
    error(string.format("%s: expected a true value, got %s", msg or "ok", repr(v)), 3)
  end
  return v
end

function err(fn, pattern, msg)
  local succeeded, e = pcall(fn)
  if succeeded then
    error(string.format("%s: expected an error", msg or "err"), 3)
  end
  e = tostring(e)
  if pattern ~= nil then
    local found = e:find(pattern, 1, true)
    if not found then
      local valid, at = pcall(string.find, e, pattern)
      found = valid and at
    end
    if not found then
      error(string.format("%s: error %q does not match %q", msg or "err", e, pattern), 3)
    end
  end
  return e
end

return tests
