-- subscription (guide example): a service, a sync event and a durable one.
local events = require("vbwd.events")
local shared = require("vbwd.shared")

local P = {
  name = "subscription",
  version = "1.2.0",
  description = "Plans and subscriptions (guide example)",
  url_prefix = "/api/v1/subscription",
}

function P.on_enable(ctx)
  -- subscription/init.lua, on_enable:
  ctx:provide("subscription.service", {
    is_active = function(user_id) return shared.get("active:" .. user_id) == true end,
  })
end

function P.routes(r)
  r:post("/activate", { auth = true }, function(req)  -- 401 without a valid token
    local uid = req.user.id
    shared.set("active:" .. uid, true)
    -- in a route of the subscription plugin:
    local summary = events.emit("subscription.activated", { user_id = uid, plan = "pro" })  -- sync
    local id, err = events.publish("subscription.activated", { user_id = uid })            -- durable
    if err then error(tostring(err)) end
    return 200, { delivered = summary.delivered, event_id = id }
  end)
end

return P
