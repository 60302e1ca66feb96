-- What the attackers reach for: a module, a service, a permission, an
-- event, a shared value and a table, all in the victim's namespace.
local shared = require("vbwd.shared")
local json = require("vbwd.json")
local secret = require("victim.secret")

local P = { name = "victim", version = "1.0.0", url_prefix = "/api/victim" }

function P.routes(r)
  r:get("/check", function()
    return 200, { upper = ("abc"):upper(), json = json.encode({ a = 1 }), secret = secret,
      shared_get = shared.get("probe"), globals = type(string) .. type(require) .. type(getmetatable(_G)) }
  end)
  r:get("/set_shared", function()
    shared.set("secret", "victim-shared-secret")
    return 200, { ok = true }
  end)
  r:get("/read", { permission = "victim.read" }, function() return 200, { secret = secret } end)
  r:get("/count", function()
    local row = assert(require("vbwd.db").query_one("select count(*) as n from victim_secrets where secret = 'victim-table-secret'"))
    return 200, { n = row.n }
  end)
end

function P.on_enable(ctx)
  ctx:provide("victim.svc", { get = function() return secret end })
  ctx:permission("victim.read", { description = "read the victim's secret", roles = { "reader" } })
  ctx:on("victim.created", function() end)
end

return P
