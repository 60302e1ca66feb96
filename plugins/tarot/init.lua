-- tarot: daily tarot readings for active subscribers. The 78-card deck
-- (tarot.deck, loaded by populate.lua), GET /daily within the plan's
-- tarot_daily_limit, readings history with cursor pagination, the durable
-- tarot.card_drawn event, and a welcome reading on subscription.activated.
local di = require("vbwd.di")
local readings = require("tarot.readings")
local spreads = require("tarot.spreads")

local P = {
  name = "tarot",
  version = "1.0.0",
  description = "Daily tarot readings",
  author = "vbwd",
  dependencies = { "subscription@^1.0" },
  url_prefix = "/api/v1/tarot",
}

local READ = "tarot.read"

local config

function P.initialize(cfg)
  config = cfg
end

-- daily_limit: the plan's tarot_daily_limit feature, else default_daily_limit.
local function daily_limit(plan)
  local v = type(plan.features) == "table" and plan.features.tarot_daily_limit or nil
  if type(v) == "number" and v >= 1 then return math.floor(v) end
  return config.default_daily_limit or 3
end

-- spread_limit: the plan's tarot_spreads_daily_limit feature, else default_spreads_daily_limit.
local function spread_limit(plan)
  local v = type(plan.features) == "table" and plan.features.tarot_spreads_daily_limit or nil
  if type(v) == "number" and v >= 1 then return math.floor(v) end
  return config.default_spreads_daily_limit or 3
end

-- the caller's plan, or 402 without an active subscription
local function plan_or_402(uid)
  local subs, err = di.get("subscription.service")
  if not subs then error({ status = 503, message = "subscription service unavailable: " .. tostring(err) }) end
  local plan = subs.plan_of(uid)
  if not plan then error({ status = 402, message = "subscription required" }) end
  return plan
end

function P.on_enable(ctx)
  ctx:permission(READ, { description = "Draw the daily tarot card and read the history",
    roles = { "subscriber", "admin" } })

  ctx:on("subscription.activated", function(event)
    readings.grant_welcome(event)
  end)
end

function P.routes(r)
  -- GET /daily: the caller's next card of the day (402 without an active
  -- subscription, 429 beyond the plan's daily limit).
  r:get("/daily", { permission = READ }, function(req)
    local uid = req.user.id
    -- plan_of is nil exactly when is_active is false: one DI call for both
    local plan = plan_or_402(uid)
    return 200, readings.draw_daily(uid, daily_limit(plan), config.seeded_daily == true)
  end)

  -- POST /spreads {"spread": "three-card"}: past, present and future, each
  -- card upright or reversed with its meaning (402 without a subscription,
  -- 429 beyond the plan's spreads per day)
  r:post("/spreads", { permission = READ }, function(req)
    local uid = req.user.id
    local spread = "three-card"
    if req.body and req.body ~= "" then
      local body = req:json()
      if type(body) ~= "table" or (body.spread ~= nil and type(body.spread) ~= "string") then
        error({ status = 422, message = "spread must be one of: three-card", field = "spread" })
      end
      spread = body.spread or spread
    end
    if not spreads.SPREADS[spread] then
      error({ status = 422, message = "spread must be one of: three-card", field = "spread" })
    end
    local plan = plan_or_402(uid)
    local s = spreads.draw(uid, spread, spread_limit(plan), config.reversed_chance or 0.5)
    return 201, s, { Location = "/api/v1/tarot/spreads/" .. s.id }
  end)

  -- GET /spreads/{id}: one of the caller's spreads (no subscription needed to re-read it)
  r:get("/spreads/{id}", { permission = READ }, function(req)
    return 200, spreads.find(req.user.id, req.params.id)
  end)

  -- GET /cards/{slug}: a card with its upright and reversed meanings
  r:get("/cards/{slug}", { permission = READ }, function(req)
    return 200, spreads.card_info(req.params.slug)
  end)

  -- GET /readings?limit=&before=: the caller's readings, newest first.
  r:get("/readings", { permission = READ }, function(req)
    return 200, readings.history(req.user.id, req.query.limit, req.query.before)
  end)
end

return P
