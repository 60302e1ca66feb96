-- The attacker: every probe in attacker/probes.lua is one attack, run by
-- GET /call/<probe> under the engine's timeout or GET /slow/<probe> under a
-- short one. on_enable tries to register in other plugins' namespaces and
-- keeps what it was told for GET /ns/<kind>.
local probes = require("attacker.probes")
local pending = require("attacker.pending")

local P = { name = "attacker", version = "1.0.0", url_prefix = "/api/attacker" }

local function run(req)
  local fn = probes[req.params.probe] or pending[req.params.probe]
  if not fn then error({ status = 404, message = "no probe " .. req.params.probe }) end
  return fn(req)
end

function P.routes(r)
  probes.kept.r = r
  r:get("/call/{probe}", run)
  r:get("/slow/{probe}", { timeout = 0.3 }, run)
  r:post("/json", function(req) return 200, { got = req:json() } end)
  r:get("/files/*", function(req) return 200, { rest = req.params.rest } end)
  r:get("/ns/{kind}", function(req)
    local got = probes.ns[req.params.kind]
    if got == nil then error({ status = 404, message = "no namespace probe " .. req.params.kind }) end
    if got.ok then return 200, { escaped = true } end
    error({ status = 403, message = got.err })
  end)
end

-- Each registration in another plugin's namespace must raise; the error is
-- kept (pcall) so the plugin still starts and the route can show it.
local function try(kind, fn)
  local ok, err = pcall(fn)
  probes.ns[kind] = { ok = ok, err = tostring(err) }
end

function P.on_enable(ctx)
  probes.kept.ctx = ctx
  try("provide", function() ctx:provide("victim.svc", { get = function() return "forged" end }) end)
  try("permission", function() ctx:permission("victim.read", { roles = { "visitor" } }) end)
  try("exchanger", function()
    ctx:exchanger({ key = "victim.items", natural_key = "id", export = function() return {} end,
      import = function() return {} end })
  end)
  try("every", function() ctx:every("victim.job", 1, function() end) end)
  try("on_bad_name", function() ctx:on("victim", function() end) end)
  try("provide_dotless", function() ctx:provide("attacker", {}) end)
  try("ctx_dot_call", function() ctx.provide("attacker.dot", {}) end)
  ctx:provide("attacker.svc", probes.service)
  ctx:on("attacker.spin", function() while true do end end)
end

return P
