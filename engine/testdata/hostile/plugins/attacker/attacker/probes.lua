-- One function per attack. Each is called as a route handler (req in,
-- status, body, headers out) and most never return: the engine must turn
-- what they raise into a clean answer.
local json = require("vbwd.json")
local events = require("vbwd.events")
local di = require("vbwd.di")
local shared = require("vbwd.shared")
local stream = require("vbwd.stream")
local db = require("vbwd.db")

local P = { kept = {}, ns = {} }
local kept = P.kept

local function escaped(v) return 200, { escaped = true, got = tostring(v) } end

-- Removed globals and libraries.
P.os_execute = function() return escaped(os.execute("id")) end
P.os_getenv = function() return escaped(os.getenv("DATABASE_URL")) end
P.io_open = function() return escaped(io.open("/etc/passwd")) end
P.io_popen = function() return escaped(io.popen("id")) end
P.load = function() return escaped(load("return 1")) end
P.loadstring = function() return escaped(loadstring("return 1")) end
P.dofile = function() return escaped(dofile("/etc/passwd")) end
P.loadfile = function() return escaped(loadfile("/etc/passwd")) end
P.debug = function() return escaped(debug.getregistry()) end
P.getfenv = function() return escaped(getfenv(0)) end
P.setfenv = function() return escaped(setfenv(1, {})) end
P.newproxy = function() return escaped(newproxy(true)) end
P.collectgarbage = function() return escaped(collectgarbage("count")) end
P.string_dump = function() return escaped(string.dump(escaped)) end
P.module = function() return escaped(module("attacker.mod")) end
P.package = function() return escaped(package.loadlib("libc.so.6", "system")) end
P.printregs = function() return escaped(_printregs()) end
P.channel = function() return escaped(channel.make()) end
P.rawget_os = function() return escaped(rawget(_G, "os").execute("id")) end
P.string_mt_dump = function() return escaped(getmetatable("").__index.dump(escaped)) end

-- require tricks.
local function req_probe(name) return function() return escaped(require(name)) end end
P.require_os = req_probe("os")
P.require_io = req_probe("io")
P.require_debug = req_probe("debug")
P.require_path = req_probe("../victim/victim/secret")
P.require_abs = req_probe("/etc/passwd")
P.require_other = req_probe("victim.secret")
P.require_other_root = req_probe("victim")
P.require_dots = req_probe("attacker...victim.secret")
P.require_own_dotdot = req_probe("attacker.../../victim/victim/secret")
P.require_host_fake = req_probe("vbwd.os")
P.require_host_path = req_probe("vbwd.../../../etc/passwd")
P.require_vbwd_bare = req_probe("vbwd")
P.require_circular = req_probe("attacker.circ_a")
P.require_symlink = req_probe("attacker.leak")
P.require_symlink_dir = req_probe("attacker.linked.mod")
P.require_empty = req_probe("")
P.require_nul = req_probe("attacker.probes\0")
P.require_table = function() return escaped(require({})) end

-- Protected objects: req and its metatable.
P.req_setmetatable = function(req) return escaped(setmetatable(req, {})) end
P.req_write = function(req) req.method = "DELETE" return escaped(req.method) end

-- Things kept from an earlier request.
P.keep = function(req)
  kept.req, kept.params, kept.json = req, req.params, req.json
  kept.co = coroutine.create(function() coroutine.yield() return req.path end)
  coroutine.resume(kept.co)
  return 200, { kept = true }
end
local function need(v) if v == nil then error({ status = 409, message = "nothing kept in this state" }) end return v end
P.kept_req = function() return escaped(need(kept.req).path) end
P.kept_params = function() return escaped(need(kept.params).probe) end
P.kept_json = function() return escaped(need(kept.json)(kept.req)) end
P.kept_coroutine = function()
  local ok, v = coroutine.resume(need(kept.co))
  if not ok then error(v) end
  return escaped(v)
end
P.kept_ctx = function() return escaped(need(kept.ctx):provide("attacker.late", {})) end
P.kept_router = function() return escaped(need(kept.r):get("/late", function() return 200 end)) end
P.kept_ctx_after = function() return escaped(need(kept.ctx):permission("attacker.late", { roles = { "visitor" } })) end
P.yield_outside = function() return escaped(coroutine.yield(1)) end
P.return_coroutine = function() return 200, { co = coroutine.create(function() end) } end

-- Deadlines (run them through /slow/: 0.3 s).
P.loop = function() while true do end end
P.pcall_loop = function() while true do pcall(function() while true do end end) end end
P.pcall_error_loop = function() while true do pcall(error, "swallowed") end end
P.xpcall_loop = function() xpcall(function() while true do end end, function() while true do end end) end
P.coroutine_loop = function() coroutine.wrap(function() while true do end end)() end
P.sort_loop = function()
  local t = {} for i = 1, 100 do t[i] = i end
  table.sort(t, function() while true do end end)
end
P.gsub_loop = function() string.gsub("aaa", "a", function() while true do end end) end
P.index_loop = function() return escaped(setmetatable({}, { __index = function() while true do end end }).x) end
P.tostring_loop = function() return escaped(tostring(setmetatable({}, { __tostring = function() while true do end end }))) end
P.service_loop = function() return escaped(di.get("attacker.svc").spin()) end
P.emit_loop = function()
  local summary = events.emit("attacker.spin", {})
  while true do end
  return escaped(summary)
end

-- Caps and recursion.
P.rep_cap = function() return escaped(#string.rep("x", 1024 * 1024 * 1024)) end
P.rep_overflow = function() return escaped(#string.rep(string.rep("x", 1024), 2 ^ 53)) end
-- One subtable repeated: 2^20 copies of 1 KB in the JSON a host module
-- builds (db.json here; http bodies and event payloads encode the same way).
P.json_amplify = function()
  local t = { string.rep("x", 1024) }
  for _ = 1, 20 do t = { t, t } end
  return escaped(#db.json(t))
end
P.concat_cap = function()
  local parts, chunk = {}, string.rep("y", 1024 * 1024)
  for i = 1, 20 do parts[i] = chunk end
  return escaped(#table.concat(parts))
end
P.recursion = function() local function f(n) return f(n + 1) + 1 end return escaped(f(1)) end
P.index_recursion = function()
  local t = setmetatable({}, {}) getmetatable(t).__index = function(s, k) return s[k] end
  return escaped(t.x)
end
P.tostring_recursion = function()
  local t t = setmetatable({}, { __tostring = function(s) return tostring(s) end })
  return escaped(tostring(t))
end

-- Error objects of every type.
P.err_nil = function() error(nil) end
P.err_function = function() error(function() end) end
P.err_thread = function() error(coroutine.create(function() end)) end
P.err_req = function(req) error(req) end
P.err_tostring_raises = function() error(setmetatable({}, { __tostring = function() error("tostring boom") end })) end
P.err_status_string = function() error({ status = "404", message = "string status" }) end
P.err_status_200 = function() error({ status = 200, message = "not an error status" }) end
P.err_status_fraction = function() error({ status = 404.5, message = "fraction" }) end
P.err_status_huge = function() error({ status = 1e300, message = "huge" }) end
P.err_status_nan = function() error({ status = 0 / 0, message = "nan" }) end
P.err_forged_fields = function() error({ status = 400, message = "real message", request_id = "forged-id", error = "forged" }) end
P.err_extra_cycle = function() local c = {} c.c = c error({ status = 409, message = "cycle extra", extra = c }) end
P.err_extra_function = function() error({ status = 409, message = "function extra", cb = print }) end
P.err_message_table = function() error({ status = 418, message = {} }) end
P.err_huge_message = function() error(string.rep("m", 8 * 1024 * 1024)) end
P.err_in_handler_of_error = function() error(setmetatable({}, { __index = function() error("index boom") end })) end

-- Response bodies the encoder must refuse.
P.json_cycle = function() local t = {} t.self = t return 200, t end
P.json_nan = function() return 200, { x = 0 / 0 } end
P.json_inf = function() return 200, { x = 1 / 0 } end  -- math.huge is the largest float here
P.json_deep = function()
  local t = {} local cur = t
  for _ = 1, 1000 do cur.n = {} cur = cur.n end
  return 200, t
end
P.json_function = function() return 200, { f = print } end
P.json_userdata = function(req) return 200, { r = req } end
P.json_bool_key = function() return 200, { [true] = 1 } end
P.json_table_key = function() return 200, { [{}] = 1 } end
-- vbwd.json reports runtime failures as nil, err: the probe answers 422.
local function refused(v, err) if v == nil then error({ status = 422, message = tostring(err) }) end return escaped(v) end
P.json_encode_cycle = function() local t = {} t[1] = t return refused(json.encode(t)) end
P.json_decode_deep = function() return refused(json.decode(string.rep("[", 100000))) end

-- Status codes and headers.
P.status_600 = function() return 600, {} end
P.status_99 = function() return 99, {} end
P.status_negative = function() return -200, {} end
P.status_fraction = function() return 200.5, {} end
P.status_nan = function() return 0 / 0, {} end
P.status_huge = function() return 2 ^ 63, {} end
P.headers_not_table = function() return 200, {}, "Set-Cookie: x=1" end
P.header_table_name = function() return 200, {}, { [{}] = "x" } end
P.header_crlf_value = function() return 200, { ok = true }, { ["X-A"] = "v\r\nSet-Cookie: pwned=1" } end
P.header_crlf_name = function() return 200, { ok = true }, { ["X-A\r\nSet-Cookie: pwned"] = "1" } end
P.header_content_type_crlf = function() return 200, "x", { ["Content-Type"] = "text/plain\r\nSet-Cookie: pwned=1" } end
P.header_lf_value = function() return 200, { ok = true }, { ["X-A"] = "v\nSet-Cookie: pwned=1" } end

-- Namespaces of other plugins, at request time.
P.emit_other = function() return escaped(events.emit("victim.created", {})) end
P.publish_other = function() return escaped(events.publish("victim.created", {})) end
P.stream_other = function() return escaped(stream.publish("victim.chan", {})) end
local function service(name)
  local svc, err = di.get(name)
  if not svc then error({ status = 403, message = tostring(err) }) end
  return svc
end
P.di_other = function() return escaped(service("victim.svc").get()) end
P.di_engine = function() return escaped(service("vbwd.admin").x()) end
P.shared_other = function()
  local v = shared.get("secret")
  if v == nil then error({ status = 404, message = "no shared value secret in this plugin's bucket" }) end
  return escaped(v)
end
P.emit_function_payload = function() return escaped(events.emit("attacker.x", { f = print })) end
P.emit_cycle_payload = function() local c = {} c.c = c return escaped(events.emit("attacker.x", c)) end

-- The attacker's own service, called with what cannot cross states.
P.service = {
  echo = function(v) return v end,
  give_function = function() return print end,
  spin = function() while true do end end,
  self_call = function() return di.get("attacker.svc").self_call() end,
}
P.service_fn_arg = function() return escaped(di.get("attacker.svc").echo(print)) end
P.service_cycle_arg = function() local c = {} c.c = c return escaped(di.get("attacker.svc").echo(c)) end
P.service_fn_result = function() return escaped(di.get("attacker.svc").give_function()) end
P.service_cycle = function() return escaped(di.get("attacker.svc").self_call()) end
P.service_write = function() local s = di.get("attacker.svc") s.echo = print return escaped(s) end

return P
