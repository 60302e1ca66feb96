-- subscription: plans and user subscriptions. A public plan catalogue, the
-- caller's subscription, subscribe/cancel with durable events, admin plan
-- CRUD under subscription.plans.manage, an expiry job (ctx:every), the
-- subscription.service for dependent plugins and the subscription.plans exchanger.
local db = require("vbwd.db")
local plans = require("subscription.plans")
local subscriptions = require("subscription.subscriptions")
local expiry = require("subscription.expiry")
local service = require("subscription.service")

local P = {
  name = "subscription",
  version = "1.0.0",
  description = "Plans and user subscriptions",
  author = "vbwd",
  url_prefix = "/api/v1/subscription",
}

local MANAGE = "subscription.plans.manage"
local EXPORT_FIELDS = { "slug", "name", "price_minor", "currency", "interval", "active" }

local config

function P.initialize(cfg)
  config = cfg
end

-- user_of: the routes calling it are registered with auth = true, so the
-- engine has already answered 401 to a caller without a valid token.
local function user_of(req)
  return req.user.id
end

local function import_plans(rows, opts)
  local res = { created = 0, updated = 0, skipped = 0, errors = {} }
  local valid = {}
  for i, row in ipairs(rows) do
    local ok, p = pcall(plans.validate, row, true, config.default_currency)
    if ok then
      valid[i] = p
    else
      res.errors[#res.errors + 1] = { row = i, error = type(p) == "table" and p.message or tostring(p) }
    end
  end
  if #res.errors > 0 then return res end
  if opts.mode == "replace_all" then
    -- plans are never deleted (subscriptions reference them): the ones not imported are deactivated
    local _, err = db.exec("update subscription_plans set active = false, updated_at = now()")
    if err then plans.fail(err) end
  end
  for _, p in ipairs(valid) do
    local r, err = db.query_one(
      "insert into subscription_plans (slug, name, price_minor, currency, \"interval\", active)"
      .. " values ($1, $2, $3, $4, $5, $6) on conflict (slug) do update set name = excluded.name,"
      .. " price_minor = excluded.price_minor, currency = excluded.currency, \"interval\" = excluded.\"interval\","
      .. " active = excluded.active, updated_at = now() returning (xmax = 0) as created",
      p.slug, p.name, p.price_minor, p.currency, p.interval, p.active ~= false)
    if err then plans.fail(err) end
    if r.created then res.created = res.created + 1 else res.updated = res.updated + 1 end
  end
  return res
end

function P.on_enable(ctx)
  ctx:permission(MANAGE, { description = "Create, change and deactivate subscription plans", roles = { "admin" } })

  ctx:provide("subscription.service", {
    is_active = service.is_active,
    plan_of = service.plan_of,
    feature = service.feature,
  })

  ctx:every("subscription.expire", ctx.config.expiry_check_seconds or 60, function()
    local n = expiry.run()
    if n > 0 then require("vbwd.log").info("subscriptions expired", { count = n }) end
  end)

  ctx:exchanger({
    key = "subscription.plans",
    label = "Subscription plans",
    natural_key = "slug",
    formats = { "json", "csv" },
    fields = EXPORT_FIELDS,
    export = function(q)
      local rows, err = db.query("select slug, name, price_minor, currency, \"interval\", active"
        .. " from subscription_plans order by slug limit $1 offset $2", q.limit, q.offset)
      if err then plans.fail(err) end
      return rows
    end,
    import = import_plans,
  })
end

function P.routes(r)
  -- the public catalogue: active plans, cheapest first
  r:get("/plans", function()
    return 200, { plans = plans.list_active() }
  end)

  r:get("/me", { auth = true }, function(req)
    local sub = subscriptions.current(user_of(req))
    if not sub then error({ status = 404, message = "no active subscription" }) end
    return 200, sub
  end)

  r:post("/subscribe", { auth = true }, function(req)
    local uid = user_of(req)
    local body = req:json()
    if type(body) ~= "table" or type(body.plan) ~= "string" or body.plan == "" then
      error({ status = 422, message = "plan must be a plan slug", field = "plan" })
    end
    return 200, subscriptions.subscribe(uid, body.plan)
  end)

  r:post("/cancel", { auth = true }, function(req)
    return 200, subscriptions.cancel(user_of(req))
  end)

  r:post("/plans", { permission = MANAGE }, function(req)
    local p = plans.validate(req:json(), true, config.default_currency)
    return 201, plans.create(p), { Location = "/api/v1/subscription/plans/" .. p.slug }
  end)

  r:put("/plans/{slug}", { permission = MANAGE }, function(req)
    local p = plans.validate(req:json(), false, config.default_currency)
    return 200, plans.update(req.params.slug, p)
  end)

  -- never a hard delete: subscriptions keep referring to the plan
  r:delete("/plans/{slug}", { permission = MANAGE }, function(req)
    return 200, plans.deactivate(req.params.slug)
  end)
end

return P
