-- subscription: plans, user subscriptions and their billing. A public plan
-- catalogue; checkout → invoice → payment (through the configured payments
-- provider, subscription.payments) → activation; trials; invoices; renewal,
-- past_due and expiry by the subscription.billing job (ctx:every); plan
-- changes with proration; cancel now or at period end; admin plan CRUD and
-- grants; the subscription.service for dependent plugins; the
-- subscription.plans and subscription.invoices exchangers.
local db = require("vbwd.db")
local log = require("vbwd.log")
local plans = require("subscription.plans")
local subscriptions = require("subscription.subscriptions")
local expiry = require("subscription.expiry")
local renewal = require("subscription.renewal")
local billing = require("subscription.billing")
local change = require("subscription.change")
local invoices = require("subscription.invoices")
local payments = require("subscription.payments")
local settings = require("subscription.settings")
local service = require("subscription.service")

local P = {
  name = "subscription",
  version = "1.0.0",
  description = "Plans and user subscriptions",
  author = "vbwd",
  url_prefix = "/api/v1/subscription",
}

local MANAGE = "subscription.plans.manage"
local GRANT = "subscription.grant"
local RUN = "subscription.billing.run"
local EXPORT_FIELDS = { "slug", "name", "price_minor", "currency", "interval", "active" }

local config

function P.initialize(cfg)
  config = cfg
  settings.set(cfg)
end

-- billing_pass is the subscription.billing job: renewal invoices and
-- charges, then what ended (expired, cancelled) or fell past_due.
local function billing_pass()
  local r = renewal.run()
  r.ended, r.past_due = expiry.run()
  return r
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

  ctx:permission(GRANT, { description = "Give a user a plan without payment (it ends at its period end)",
    roles = { "admin" } })

  ctx:permission(RUN, { description = "Run the billing job now (renewals, past_due, expiry)", roles = { "admin" } })

  ctx:every("subscription.billing", ctx.config.expiry_check_seconds or 60, function()
    local r = billing_pass()
    if r.invoiced + r.paid + r.failed + r.ended + r.past_due > 0 then log.info("subscription billing", r) end
  end)

  -- a provider that delivers its events itself (payments_fake) publishes the
  -- durable event <provider>.webhook with the request it stands for
  ctx:on(payments.name() .. ".webhook", function(event)
    billing.webhook(event.payload)
  end)

  ctx:exchanger({
    key = "subscription.invoices",
    label = "Invoices",
    natural_key = "number",
    formats = { "json", "csv" },
    fields = invoices.EXPORT_FIELDS,
    pii = { "user_id" },
    export = invoices.export,
    import = invoices.import,
  })

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
  local AUTH = { auth = true } -- 401 without a valid token, before the handler runs
  -- the public catalogue: active plans, cheapest first
  r:get("/plans", function()
    return 200, { plans = plans.list_active() }
  end)

  r:get("/me", AUTH, function(req)
    local sub = subscriptions.current(user_of(req))
    if not sub then error({ status = 404, message = "no active subscription" }) end
    return 200, sub
  end)

  -- checkout (and its old name, subscribe): a free or trial plan is live at
  -- once; a paid one is pending until the provider reports the payment
  local function checkout(req)
    return billing.checkout(user_of(req), req:json(), req.headers["idempotency-key"])
  end
  r:post("/checkout", AUTH, checkout)
  r:post("/subscribe", AUTH, checkout)

  -- the provider's webhook: public, authenticated by the provider's signature
  r:post("/webhook", { body_limit = 1024 * 1024 }, function(req)
    return 200, billing.webhook({ headers = req.headers, body = req.body })
  end)

  r:post("/change", AUTH, function(req)
    return change.change(user_of(req), req:json())
  end)

  -- cancel now, or with {"at_period_end": true} at the period end
  r:post("/cancel", AUTH, function(req)
    local uid = user_of(req)
    local at_end = false
    if req.body and req.body ~= "" then
      local body = req:json()
      if type(body) ~= "table" or (body.at_period_end ~= nil and type(body.at_period_end) ~= "boolean") then
        error({ status = 422, message = "at_period_end must be true or false", field = "at_period_end" })
      end
      at_end = body.at_period_end == true
    end
    return 200, subscriptions.cancel(uid, at_end)
  end)

  r:post("/resume", AUTH, function(req)
    return 200, subscriptions.resume(user_of(req))
  end)

  r:get("/invoices", AUTH, function(req)
    return 200, invoices.list(user_of(req), req.query.limit, req.query.offset)
  end)

  r:get("/invoices/{number}", AUTH, function(req)
    return 200, invoices.find_for(user_of(req), req.params.number)
  end)

  -- the billing job's pass, now (ops; and tests, whose clock does not run jobs)
  r:post("/billing/run", { permission = RUN }, function()
    return 200, billing_pass()
  end)

  -- an administrator's comp: live at once, no payment, no renewal
  r:post("/grants", { permission = GRANT }, function(req)
    local body = req:json()
    if type(body) ~= "table" or type(body.user_id) ~= "string" or body.user_id == "" or #body.user_id > 200 then
      error({ status = 422, message = "user_id must be a non-empty string", field = "user_id" })
    end
    if type(body.plan) ~= "string" or body.plan == "" then
      error({ status = 422, message = "plan must be a plan slug", field = "plan" })
    end
    local days = body.days
    if days ~= nil and (type(days) ~= "number" or days < 1 or days > 3650 or days ~= math.floor(days)) then
      error({ status = 422, message = "days must be an integer from 1 to 3650", field = "days" })
    end
    return 201, subscriptions.grant(body.user_id, body.plan, days)
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
