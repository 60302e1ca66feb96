-- webhook (guide example): a durable event forwarded to an outside service
-- through vbwd.http, to a host its config allows.
local events = require("vbwd.events")
local http = require("vbwd.http")

local P = {
  name = "webhook",
  version = "1.0.0",
  description = "Forwards orders to a webhook (guide example)",
  url_prefix = "/api/v1/webhook",
}

local config -- per state, set by initialize

function P.initialize(cfg)
  config = cfg
end

-- the handler of a durable event: raising makes the outbox retry it later
local function forward(event)
  local res, err = http.post(config.url, {
    json = { id = event.id, event = event.name, payload = event.payload },
    headers = { ["x-webhook-attempt"] = tostring(event.attempt) },
    timeout = 5,
  })
  if not res then error(err) end
  if res.status >= 300 then error(config.url .. " answered " .. res.status) end
end

function P.on_enable(ctx)
  ctx:on("webhook.order_placed", forward)
end

function P.routes(r)
  r:post("/orders", function(req)
    local order = req:json()
    local id, err = events.publish("webhook.order_placed", { item = order.item })
    if err then error(tostring(err)) end
    return 202, { event_id = id }
  end)
end

return P
