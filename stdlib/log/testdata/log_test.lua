local log = require("vbwd.log")
local sink = require("vbwd.sink")

test("levels and messages", function()
  log.debug("d")
  log.info("i")
  log.warn("w")
  log.error("e")
  local got = {}
  for _, r in ipairs(sink.take()) do got[#got + 1] = r.level .. " " .. r.msg end
  eq(got, { "DEBUG d", "INFO i", "WARN w", "ERROR e" })
end)

test("src is the calling line", function()
  log.info("here")
  eq(sink.take()[1].attrs.src, "testdata/log_test.lua:15")
end)

test("fields are converted and sorted", function()
  log.info("with fields", { z = 1, a = "x", list = { 1, 2 }, obj = { k = true }, [3] = "three" })
  local r = sink.take()[1]
  eq(r.keys, { "src", "3", "a", "list", "obj", "z" })
  eq(r.attrs.a, "x")
  eq(r.attrs.z, 1)
  eq(r.attrs.list, { 1, 2 })
  eq(r.attrs.obj, { k = true })
  eq(r.attrs["3"], "three")
end)

test("non-data fields are logged as strings", function()
  log.warn("odd", { cb = print, self = nil })
  local r = sink.take()[1]
  ok(r.attrs.cb:find("^function: "), r.attrs.cb)
end)

test("request id is added while serving a request", function()
  with_request("req-42", function()
    log.info("serving", { n = 1 })
  end)
  log.info("idle")
  local records = sink.take()
  eq(records[1].keys, { "src", "request_id", "n" })
  eq(records[1].attrs.request_id, "req-42")
  eq(records[2].attrs.request_id, nil)
end)

test("numbers are accepted as messages", function()
  log.info(42)
  eq(sink.take()[1].msg, "42")
end)

test("bad arguments raise", function()
  err(function() log.info() end, "bad argument #1")
  err(function() log.info({}) end, "string expected")
  err(function() log.info("x", "not a table") end, "table expected")
  eq(#sink.take(), 0)
end)

test("explicit nil fields", function()
  log.info("x", nil)
  eq(#sink.take(), 1)
end)
