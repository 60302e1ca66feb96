-- subscription.billing: checkout → invoice → payment → activation, payment
-- events from the provider (settle, fail, refund), plan changes with
-- proration. The provider is whatever config payments.provider names
-- (subscription.payments); provider calls never run inside a transaction.
local db = require("vbwd.db")
local json = require("vbwd.json")
local crypto = require("vbwd.crypto")
local log = require("vbwd.log")
local vtime = require("vbwd.time")
local plans = require("subscription.plans")
local subs = require("subscription.subscriptions")
local invoices = require("subscription.invoices")
local payments = require("subscription.payments")
local settings = require("subscription.settings")

local M = {}

local function unprocessable(field, why)
  error({ status = 422, message = field .. " " .. why, field = field })
end

local function interval_sql(n)
  return "case when $" .. n .. " = 'year' then interval '1 year' else interval '1 month' end"
end

local function url_field(body, field)
  local v = body[field]
  if v == nil then return settings.payments(field) end
  if type(v) ~= "string" or #v > 2000 or not v:match("^https?://[^%s]+$") then
    unprocessable(field, "must be an http(s) URL")
  end
  return v
end

-- response is what checkout answers, the first time and on a retry.
local function response(inv_id)
  local inv = invoices.get(db, inv_id)
  local out = { subscription = subs.shape(subs.row(db, inv.subscription_id)), invoice = invoices.public(inv) }
  if inv.status == "open" and inv.checkout_url then out.checkout = { id = inv.checkout_ref, url = inv.checkout_url } end
  return out
end

local function had_subscription(tx, user_id)
  local row, err = tx.query_one("select 1 as x from subscription_subscriptions where user_id = $1"
    .. " and started_at is not null limit 1", user_id)
  if err then error(tostring(err)) end
  return row ~= nil
end

-- start creates the pending (or, when nothing is to be paid, live)
-- subscription and its checkout invoice in one transaction.
local function start(user_id, plan, key, hash, now)
  return db.tx(function(tx)
    subs.lock_user(tx, user_id)
    if subs.live(tx, user_id) then
      error({ status = 409, message = "already subscribed: change the plan with POST /change" })
    end
    -- an abandoned checkout of this user is superseded by this one
    local _, err = tx.exec("update subscription_invoices set status = 'void', updated_at = to_timestamp($2)"
      .. " where user_id = $1 and kind = 'checkout' and status = 'open'", user_id, now)
    if err then error(tostring(err)) end
    _, err = tx.exec("update subscription_subscriptions set status = 'cancelled', updated_at = to_timestamp($2)"
      .. " where user_id = $1 and status = 'pending'", user_id, now)
    if err then error(tostring(err)) end

    local trial = plan.trial_days > 0 and not had_subscription(tx, user_id)
    local free = plan.price_minor == 0 or trial
    local status = trial and "trialing" or (free and "active" or "pending")
    local row
    row, err = tx.query_one(
      "insert into subscription_subscriptions (user_id, plan_id, status, period_start, period_end, created_at,"
      .. " updated_at, started_at) values ($1, $2, $3, to_timestamp($4),"
      .. " case when $6::integer > 0 then to_timestamp($4) + make_interval(days => $6::integer)"
      .. " else to_timestamp($4) + " .. interval_sql(5) .. " end, to_timestamp($4),"
      .. " to_timestamp($4), case when $3 <> 'pending' then to_timestamp($4) end)"
      .. " returning id, period_start, period_end",
      user_id, plan.id, status, now, plan.interval, trial and plan.trial_days or 0)
    if err then subs.conflict(err) end
    local line = { description = plan.name .. " (1 " .. plan.interval .. ")", amount_minor = plan.price_minor,
      plan = plan.slug, period_start = row.period_start, period_end = row.period_end }
    if trial then
      line = { description = plan.name .. " trial (" .. plan.trial_days .. " days)", amount_minor = 0,
        plan = plan.slug, period_start = row.period_start, period_end = row.period_end }
    end
    local inv = invoices.create(tx, { user_id = user_id, subscription_id = row.id, kind = "checkout",
      status = free and "paid" or "open", currency = plan.currency, plan_id = plan.id, lines = { line },
      period_start = vtime.parse(row.period_start), period_end = vtime.parse(row.period_end), now = now,
      idempotency_key = key, request_hash = hash })
    if free then
      subs.publish("subscription.activated", { user_id = user_id, plan = plan.slug, subscription_id = row.id })
    end
    return inv
  end)
end

-- checkout(user_id, body, key) -> status, body. key is the client's
-- Idempotency-Key: the same key with the same request answers what the
-- first answered and changes nothing; with another request, 409.
function M.checkout(user_id, body, key)
  if type(body) ~= "table" or type(body.plan) ~= "string" or body.plan == "" then
    unprocessable("plan", "must be a plan slug")
  end
  local success_url, cancel_url = url_field(body, "success_url"), url_field(body, "cancel_url")
  if key ~= nil and (#key < 1 or #key > 255 or not key:match("^[%w%-_.:]+$")) then
    error({ status = 400, message = "Idempotency-Key must be 1-255 of letters, digits and -_.:" })
  end
  local hash = crypto.sha256(json.encode({ body.plan, success_url or "", cancel_url or "" }))
  if key then
    local prior = invoices.by_idempotency_key(db, user_id, key)
    if prior then
      if prior.request_hash ~= hash then
        error({ status = 409, message = "this Idempotency-Key was used for another request" })
      end
      if prior.kind == "checkout" and prior.total_minor > 0 and not prior.checkout_url then
        if prior.status == "open" then
          error({ status = 409, message = "a request with this Idempotency-Key is in progress" })
        end
        error({ status = 409, message = "the checkout with this Idempotency-Key failed ("
          .. tostring(prior.last_error) .. "): retry with a new key" })
      end
      return 201, response(prior.id), { ["Idempotent-Replayed"] = "true" }
    end
  end
  local plan = plans.find(body.plan, true)
  if not plan then error({ status = 404, message = "no such plan", plan = body.plan }) end
  local pay
  if plan.price_minor > 0 then pay = payments.provider() end -- 503 before anything is written

  local now = vtime.now()
  local inv = start(user_id, plan, key, hash, now)
  if inv.status == "open" then
    local ok, res = pcall(pay.create_checkout, {
      amount = inv.total_minor, currency = inv.currency, reference = inv.id, customer = user_id,
      description = plan.name .. " subscription", success_url = success_url, cancel_url = cancel_url,
      idempotency_key = "checkout-" .. inv.id,
    })
    if not ok or type(res) ~= "table" or type(res.url) ~= "string" then
      db.tx(function(tx)
        invoices.set(tx, inv.id, now, { status = "void", last_error = payments.message(res) })
        local _, err = tx.exec("update subscription_subscriptions set status = 'cancelled' where id = $1",
          inv.subscription_id)
        if err then error(tostring(err)) end
      end)
      error({ status = 502, message = "payments provider " .. payments.name() .. ": " .. payments.message(res) })
    end
    invoices.set(db, inv.id, now, { checkout_ref = tostring(res.id or ""), checkout_url = res.url })
  end
  return 201, response(inv.id)
end

-- activate moves a paid checkout's pending subscription to active for one
-- interval from now. Another live subscription of the user (paid twice in
-- two tabs) leaves this one cancelled: a refund is the operator's call.
local function activate(tx, inv, now)
  local s = subs.row(tx, inv.subscription_id)
  if s.status ~= "pending" then return end
  local ok, err = pcall(function()
    tx.tx(function(sp)
      local _, e = sp.exec("update subscription_subscriptions set status = 'active', started_at = to_timestamp($2),"
        .. " period_start = to_timestamp($2), period_end = to_timestamp($2) + " .. interval_sql(3)
        .. ", updated_at = to_timestamp($2) where id = $1", s.id, now, s.interval)
      if e then subs.conflict(e) end
    end)
  end)
  if not ok then
    log.warn("a paid checkout met another live subscription; left cancelled", { invoice = inv.number, error = err })
    local _, e = tx.exec("update subscription_subscriptions set status = 'cancelled' where id = $1", s.id)
    if e then error(tostring(e)) end
    return
  end
  subs.publish("subscription.activated", { user_id = s.user_id, plan = s.slug, subscription_id = s.id })
end

-- renew moves a subscription to the period its renewal invoice paid for.
local function renew(tx, inv, now)
  local s = subs.row(tx, inv.subscription_id)
  if s.status ~= "active" and s.status ~= "trialing" and s.status ~= "past_due" then
    log.warn("a renewal was paid for an ended subscription", { invoice = inv.number, status = s.status })
    return
  end
  local _, err = tx.exec("update subscription_subscriptions set status = 'active', plan_id = $2,"
    .. " period_start = $3::timestamptz, period_end = $4::timestamptz, grace_until = null, next_plan_id = null,"
    .. " updated_at = to_timestamp($5) where id = $1", s.id, inv.plan_id, inv.period_start, inv.period_end, now)
  if err then error(tostring(err)) end
  subs.publish("subscription.renewed", { user_id = s.user_id, plan = inv.plan, subscription_id = s.id,
    invoice = inv.number, period_end = inv.period_end })
end

-- switch puts a subscription on the plan a change invoice paid for.
function M.switch(tx, inv, now)
  local s = subs.row(tx, inv.subscription_id)
  if s.status ~= "active" and s.status ~= "trialing" then return end
  local _, err = tx.exec("update subscription_subscriptions set plan_id = $2, next_plan_id = null,"
    .. " updated_at = to_timestamp($3) where id = $1", s.id, inv.plan_id, now)
  if err then error(tostring(err)) end
  subs.publish("subscription.changed", { user_id = s.user_id, plan = inv.plan, from = s.slug, subscription_id = s.id })
end

-- settle records a successful payment of an open invoice and applies it;
-- an invoice paid already changes nothing. p: {payment_id, amount,
-- currency, customer?, payment_method?}.
function M.settle(tx, inv, p, now)
  if inv.status == "void" or inv.status == "uncollectible" then
    -- paid at a checkout that was superseded or given up: the money is taken, the plan is not given
    local why = "paid after the invoice became " .. inv.status .. ": refund payment "
      .. tostring(p.payment_id) .. " or settle by hand"
    invoices.set(tx, inv.id, now, { last_error = why })
    log.error("a payment arrived for a closed invoice", { invoice = inv.number, payment = p.payment_id })
    return false
  end
  if inv.status ~= "open" then return false end
  if p.amount ~= nil and (tonumber(p.amount) ~= inv.total_minor
      or (p.currency and p.currency:upper() ~= inv.currency)) then
    invoices.set(tx, inv.id, now, { last_error = "paid " .. tostring(p.amount) .. " " .. tostring(p.currency)
      .. ", expected " .. inv.total_minor .. " " .. inv.currency })
    log.error("payment amount does not match the invoice", { invoice = inv.number, amount = p.amount })
    return false
  end
  invoices.set(tx, inv.id, now, { status = "paid", payment_ref = p.payment_id and tostring(p.payment_id) or db.null,
    last_error = db.null })
  if p.customer or p.payment_method then
    local _, err = tx.exec("update subscription_subscriptions set customer_ref = coalesce($2, customer_ref),"
      .. " payment_method_ref = coalesce($3, payment_method_ref) where id = $1", inv.subscription_id,
      p.customer or db.null, p.payment_method or db.null)
    if err then error(tostring(err)) end
  end
  if inv.kind == "checkout" then activate(tx, inv, now)
  elseif inv.kind == "renewal" then renew(tx, inv, now)
  else M.switch(tx, inv, now) end
  return true
end

-- failed records a refused payment: a renewal makes the subscription
-- past_due, with access until grace_days after its period end.
function M.failed(tx, inv, reason, now)
  if inv.status ~= "open" then return false end
  invoices.set(tx, inv.id, now, { last_error = reason or "payment failed" })
  if inv.kind ~= "renewal" then return true end
  local s = subs.row(tx, inv.subscription_id)
  if s.status ~= "active" and s.status ~= "trialing" then return true end
  local grace = settings.billing("grace_days") * 86400
  local _, err = tx.exec("update subscription_subscriptions set status = 'past_due',"
    .. " grace_until = greatest(period_end, to_timestamp($2)) + make_interval(secs => $3),"
    .. " updated_at = to_timestamp($2) where id = $1", s.id, now, grace)
  if err then error(tostring(err)) end
  subs.publish("subscription.past_due", { user_id = s.user_id, plan = s.slug, subscription_id = s.id,
    invoice = inv.number, reason = reason })
  return true
end

-- apply_event applies a verified provider event once: its id is recorded in
-- subscription_payment_events in the same transaction, so a redelivery
-- finds it and changes nothing. ev: {id, type, payment_id?, reference?,
-- amount?, currency?, customer?, payment_method?, error?}.
function M.apply_event(ev)
  if type(ev) ~= "table" or type(ev.id) ~= "string" or type(ev.type) ~= "string" then
    error({ status = 400, message = "the provider returned no event id and type" })
  end
  local now = vtime.now()
  return db.tx(function(tx)
    local inv = invoices.get(tx, ev.reference)
    if not inv and ev.payment_id then inv = invoices.by_payment_ref(tx, tostring(ev.payment_id)) end
    local row, err = tx.query_one("insert into subscription_payment_events (provider, event_id, type, invoice_id,"
      .. " received_at) values ($1, $2, $3, $4, to_timestamp($5)) on conflict do nothing returning event_id",
      payments.name(), ev.id, ev.type, inv and inv.id or db.null, now)
    if err then error(tostring(err)) end
    if not row then return { received = true, duplicate = true } end
    if not inv then return { received = true, ignored = "no invoice for this event" } end
    local changed = false
    if ev.type == "payment.succeeded" then
      changed = M.settle(tx, inv, ev, now)
    elseif ev.type == "payment.failed" then
      changed = M.failed(tx, inv, ev.error, now)
    elseif ev.type == "refund.succeeded" and tonumber(ev.amount) then
      local refunded = math.min(inv.total_minor, tonumber(ev.amount))
      invoices.set(tx, inv.id, now, { refunded_minor = refunded,
        status = refunded >= inv.total_minor and "refunded" or inv.status })
      changed = true
    end
    return { received = true, invoice = inv.number, changed = changed }
  end)
end

-- webhook verifies a request (or a provider's webhook-equivalent event) with
-- the provider and applies it.
function M.webhook(request)
  local pay = payments.provider()
  local ok, ev = pcall(pay.verify_webhook, request)
  if not ok then
    -- a refusal by the provider stays a 4xx; the provider unable to verify (no secret) a 503, so the sender retries
    local status = type(ev) == "table" and tonumber(ev.status) or 400
    if status >= 500 then
      error({ status = 503, message = "webhook not verified: " .. payments.message(ev) })
    end
    error({ status = status >= 400 and status or 400, message = "webhook refused: " .. payments.message(ev) })
  end
  return M.apply_event(ev)
end

return M
