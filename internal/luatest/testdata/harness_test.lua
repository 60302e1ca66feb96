local probe = require("vbwd.probe")

test("require caches the module table", function()
  ok(require("vbwd.probe") == probe, "same table")
  eq(probe.loads(), 1)
end)

test("require refuses unknown modules", function()
  err(function() require("vbwd.nope") end, 'module "vbwd.nope" not found')
  err(function() require("os") end, "not found")
end)

test("sandbox globals", function()
  for _, name in ipairs({ "dofile", "loadfile", "load", "loadstring", "getfenv", "setfenv", "collectgarbage", "os", "io", "debug" }) do
    eq(_G[name], nil, name)
  end
  eq(string.dump, nil, "string.dump")
  ok(table.concat and math.floor and string.format and pcall, "base, table, string and math are open")
end)

test("eq compares deeply", function()
  eq(1, 1)
  eq("a", "a")
  eq({ 1, { a = { "x" } } }, { 1, { a = { "x" } } })
  eq(0 / 0, 0 / 0, "NaN")
  local t = {}
  t.self = t
  local u = {}
  u.self = u
  eq(t, u, "cycles")
end)

test("eq distinguishes", function()
  err(function() eq({ 1, 2 }, { 1 }) end, "expected {[1] = 1}, got {[1] = 1, [2] = 2}")
  err(function() eq({ a = 1 }, { a = 1, b = 2 }) end, "expected")
  err(function() eq(1, "1") end, 'expected "1", got 1')
end)

test("ok and err", function()
  eq(ok(5), 5)
  err(function() ok(false, "flag") end, "flag: expected a true value, got false")
  err(function() ok(nil) end, "ok: expected a true value, got nil")
  eq(err(function() error("boom (1)") end, "boom (1)"), "testdata/harness_test.lua:43: boom (1)")
  err(function() error("code 42") end, "code %d+")
  err(function() err(function() end) end, "err: expected an error")
  err(function() err(function() error("x") end, "y") end, 'does not match "y"')
end)

test("contexts", function()
  eq(probe.request_id(), nil)
  eq(probe.build_phase(), false)
  with_request("req-1", function()
    eq(probe.request_id(), "req-1")
    build_phase(function()
      eq(probe.build_phase(), true)
      eq(probe.request_id(), "req-1", "nested contexts keep the outer values")
    end)
    eq(probe.build_phase(), false)
  end)
  eq(probe.request_id(), nil)
end)

test("contexts are restored after errors", function()
  err(function() build_phase(function() error("inside") end) end, "inside")
  eq(probe.build_phase(), false)
end)

test("with_timeout sets a deadline", function()
  eq(probe.deadline(), nil)
  with_request("r", function()
    with_timeout(60, function()
      local left = probe.deadline()
      ok(left > 59 and left <= 60, "about 60 seconds left")
      eq(probe.request_id(), "r", "the deadline keeps the outer values")
    end)
    eq(probe.deadline(), nil)
  end)
  err(function() with_timeout(0.01, function() while true do end end) end, "context deadline exceeded")
  eq(probe.deadline(), nil, "restored after the error")
end)

test("context helpers return results", function()
  local a, b = with_request("r", function() return 1, 2 end)
  eq({ a, b }, { 1, 2 })
end)

test("print goes to the test log", function()
  print("hello from lua", 1, nil)
end)
