-- subscription.change: upgrade and downgrade, effective now (prorated) or at
-- the period end (the renewal invoice is for the new plan).
--
-- Proration, for a change now: f = (period_end - now) / (period_end -
-- period_start), the unused share of the period. The change invoice has two
-- lines: a credit of round(old price * f) and a charge of round(new price * f).
-- A positive total is charged to the saved payment method (or paid at a
-- checkout) and the plan switches when it is paid; a zero or negative total
-- switches at once and refunds the difference on the last paid invoice.
local db = require("vbwd.db")
local log = require("vbwd.log")
local vtime = require("vbwd.time")
local plans = require("subscription.plans")
local subs = require("subscription.subscriptions")
local invoices = require("subscription.invoices")
local payments = require("subscription.payments")
local billing = require("subscription.billing")

local M = {}

local function unprocessable(field, why)
  error({ status = 422, message = field .. " " .. why, field = field })
end

local function validate(body)
  if type(body) ~= "table" or type(body.plan) ~= "string" or body.plan == "" then
    unprocessable("plan", "must be a plan slug")
  end
  local when = body.when or "now"
  if when ~= "now" and when ~= "period_end" then unprocessable("when", "must be now or period_end") end
  local target = plans.find(body.plan, true)
  if not target then error({ status = 404, message = "no such plan", plan = body.plan }) end
  return target, when
end

local function checks(s, target, when)
  if not s then error({ status = 409, message = "no active subscription" }) end
  if s.status == "past_due" then
    error({ status = 409, message = "the subscription is past due: pay its invoice first" })
  end
  if s.cancel_at_period_end then error({ status = 409, message = "a cancellation is scheduled: resume first" }) end
  if s.slug == target.slug then unprocessable("plan", "is the current plan") end
  if target.currency ~= s.currency then unprocessable("plan", "is billed in another currency") end
  if when == "now" and target.interval ~= s.interval then
    unprocessable("when", "must be period_end for a plan with another interval")
  end
end

-- prorate(s, target, now) -> lines: the credit for the unused time of the
-- current plan and the charge for the same time on the target plan.
function M.prorate(s, target, now)
  local from, to = vtime.parse(s.period_start), vtime.parse(s.period_end)
  local f = 0
  if to > from then f = math.max(0, math.min(1, (to - now) / (to - from))) end
  local credit = math.floor(s.price_minor * f + 0.5)
  local charge = math.floor(target.price_minor * f + 0.5)
  return {
    { description = "Unused time on " .. s.name, amount_minor = -credit, plan = s.slug },
    { description = "Remaining time on " .. target.name, amount_minor = charge, plan = target.slug },
  }
end

-- plan the change in one transaction; returns what to do after it commits
local function plan_change(user_id, target, when, now)
  return db.tx(function(tx)
    subs.lock_user(tx, user_id)
    local s = subs.live(tx, user_id, true)
    checks(s, target, when)
    local _, err
    if when == "period_end" then
      _, err = tx.exec("update subscription_subscriptions set next_plan_id = $2, updated_at = to_timestamp($3)"
        .. " where id = $1", s.id, target.id, now)
      if err then error(tostring(err)) end
      subs.publish("subscription.change_scheduled", { user_id = user_id, plan = target.slug, from = s.slug,
        subscription_id = s.id, at = s.period_end })
      return { id = s.id }
    end
    -- a change now supersedes an unpaid one, and a scheduled one
    _, err = tx.exec("update subscription_invoices set status = 'void', updated_at = to_timestamp($2)"
      .. " where subscription_id = $1 and kind = 'change' and status = 'open'", s.id, now)
    if err then error(tostring(err)) end
    local lines = s.status == "trialing"
      and { { description = target.name .. " for the rest of the trial", amount_minor = 0, plan = target.slug } }
      or M.prorate(s, target, now)
    local total = lines[1].amount_minor + (lines[2] and lines[2].amount_minor or 0)
    local inv = invoices.create(tx, { user_id = user_id, subscription_id = s.id, kind = "change",
      status = total > 0 and "open" or "paid", currency = s.currency, plan_id = target.id, lines = lines,
      period_start = now, period_end = vtime.parse(s.period_end), now = now })
    if total > 0 then return { id = s.id, invoice = inv.id, sub = s } end
    billing.switch(tx, inv, now)
    local refund_from = total < 0 and invoices.last_paid(tx, s.id) or nil
    return { id = s.id, invoice = inv.id, refund = -total, refund_from = refund_from and refund_from.id }
  end)
end

local function refund(plan, now)
  local from = invoices.get(db, plan.refund_from)
  local amount = math.min(plan.refund, from.total_minor - from.refunded_minor)
  local ok, res = payments.call("refund", from.payment_ref, amount)
  if not ok then
    log.warn("refund of a downgrade failed; the credit is on the change invoice", { invoice = from.number,
      error = payments.message(res) })
    return
  end
  invoices.set(db, from.id, now, { refunded_minor = from.refunded_minor + amount,
    status = from.refunded_minor + amount >= from.total_minor and "refunded" or "paid" })
end

-- collect charges a change invoice: to the saved payment method, else at a checkout.
local function collect(plan, now)
  local inv, s = invoices.get(db, plan.invoice), plan.sub
  if s.payment_method_ref or s.customer_ref then
    local ok, res = payments.call("charge", { amount = inv.total_minor, currency = inv.currency,
      reference = inv.id, customer = s.customer_ref, payment_method = s.payment_method_ref,
      description = "Plan change to " .. inv.plan, idempotency_key = "change-" .. inv.id })
    if ok and type(res) == "table" and res.status == "succeeded" then
      db.tx(function(tx)
        billing.settle(tx, invoices.get(tx, inv.id), { payment_id = res.id, amount = inv.total_minor,
          currency = inv.currency }, now)
      end)
      return 200
    elseif ok and type(res) == "table" and res.status == "pending" then
      invoices.set(db, inv.id, now, { payment_ref = tostring(res.id or ""), attempts = 1 })
      return 202
    end
    local why = ok and (type(res) == "table" and res.error or "payment failed") or payments.message(res)
    invoices.set(db, inv.id, now, { status = "void", last_error = tostring(why), attempts = 1 })
    error({ status = 402, message = "payment failed: " .. tostring(why), invoice = inv.number })
  end
  local ok, res = payments.call("create_checkout", { amount = inv.total_minor, currency = inv.currency,
    reference = inv.id, customer = s.user_id, description = "Plan change to " .. inv.plan,
    idempotency_key = "checkout-" .. inv.id })
  if not ok or type(res) ~= "table" then
    invoices.set(db, inv.id, now, { status = "void", last_error = payments.message(res) })
    error({ status = 502, message = "payments provider " .. payments.name() .. ": " .. payments.message(res) })
  end
  invoices.set(db, inv.id, now, { checkout_ref = tostring(res.id or ""), checkout_url = res.url })
  return 202
end

-- change(user_id, body) -> status, {subscription, invoice?, checkout?}:
-- 200 when done (or scheduled), 202 when the switch waits for a payment.
function M.change(user_id, body)
  local target, when = validate(body)
  local now = vtime.now()
  local plan = plan_change(user_id, target, when, now)
  local status = 200
  if plan.sub then status = collect(plan, now) end
  if plan.refund and plan.refund > 0 and plan.refund_from then refund(plan, now) end
  local out = { subscription = subs.shape(subs.row(db, plan.id)) }
  if plan.invoice then
    local inv = invoices.get(db, plan.invoice)
    out.invoice = invoices.public(inv)
    if inv.status == "open" and inv.checkout_url then
      out.checkout = { id = inv.checkout_ref, url = inv.checkout_url }
    end
  end
  return status, out
end

return M
