-- subscription.renewal: the renewal half of the subscription.billing job.
-- Before a period ends (billing.renew_ahead_seconds) it writes the renewal
-- invoice for the next period (on the scheduled plan, if a change is
-- scheduled), then charges open renewal invoices through the provider: to
-- the saved payment method, retried every billing.retry_seconds; without one,
-- the invoice gets a checkout URL. A refused payment makes the subscription
-- past_due (subscription.billing.failed). Provider calls run outside
-- transactions; each invoice is settled in its own.
local db = require("vbwd.db")
local log = require("vbwd.log")
local vtime = require("vbwd.time")
local subs = require("subscription.subscriptions")
local invoices = require("subscription.invoices")
local payments = require("subscription.payments")
local settings = require("subscription.settings")
local billing = require("subscription.billing")

local M = {}

local function check(rows, err)
  if err then error(tostring(err)) end
  return rows
end

-- invoice writes the renewal invoice of one due subscription (nil when
-- another node or an earlier run did).
local function invoice(id, now)
  return db.tx(function(tx)
    local s = check(tx.query_one("select s.id, s.user_id, s.status, s.period_end, s.auto_renew,"
      .. " s.cancel_at_period_end, coalesce(s.next_plan_id, s.plan_id) as plan_id"
      .. " from subscription_subscriptions s where s.id = $1 for update", id))
    if not s or (s.status ~= "active" and s.status ~= "trialing") or not s.auto_renew or s.cancel_at_period_end then
      return nil
    end
    if check(tx.query_one("select 1 as x from subscription_invoices where subscription_id = $1 and kind = 'renewal'"
      .. " and period_start = $2::timestamptz and status <> 'void'", s.id, s.period_end)) then
      return nil
    end
    local p = check(tx.query_one("select id, slug, name, price_minor, currency, \"interval\","
      .. " extract(epoch from $2::timestamptz + case when \"interval\" = 'year' then interval '1 year'"
      .. " else interval '1 month' end)::float8 as next_end from subscription_plans where id = $1",
      s.plan_id, s.period_end))
    local from = vtime.parse(s.period_end)
    local inv = invoices.create(tx, { user_id = s.user_id, subscription_id = s.id, kind = "renewal",
      status = "open", currency = p.currency, plan_id = p.id,
      lines = { { description = p.name .. " (1 " .. p.interval .. ")", amount_minor = p.price_minor, plan = p.slug,
        period_start = s.period_end, period_end = vtime.format(p.next_end) } },
      period_start = from, period_end = p.next_end, now = now })
    if p.price_minor == 0 then
      -- nothing to charge: paid as written, and the period moves on
      billing.settle(tx, inv, { amount = 0, currency = p.currency }, now)
    end
    return inv.id
  end)
end

-- attempt charges one open renewal invoice; returns "paid", "failed",
-- "pending", "error" or "checkout".
local function attempt(id, now)
  local inv = invoices.get(db, id)
  local s = subs.row(db, inv.subscription_id)
  local n = inv.attempts + 1
  if not (s.payment_method_ref or s.customer_ref) then
    local why = "no saved payment method: pay the invoice at its checkout_url"
    local url = inv.checkout_url
    if not url then
      local ok, res = payments.call("create_checkout", { amount = inv.total_minor, currency = inv.currency,
        reference = inv.id, customer = s.user_id, description = "Renewal of " .. inv.plan,
        idempotency_key = "checkout-" .. inv.id })
      if not ok or type(res) ~= "table" then
        invoices.set(db, inv.id, now, { attempts = n, last_error = payments.message(res) })
        return "error"
      end
      invoices.set(db, inv.id, now, { checkout_ref = tostring(res.id or ""), checkout_url = res.url })
    end
    db.tx(function(tx)
      invoices.set(tx, inv.id, now, { attempts = n })
      billing.failed(tx, invoices.get(tx, inv.id), why, now)
    end)
    return "checkout"
  end
  local ok, res = payments.call("charge", { amount = inv.total_minor, currency = inv.currency, reference = inv.id,
    customer = s.customer_ref, payment_method = s.payment_method_ref, description = "Renewal of " .. inv.plan,
    idempotency_key = "renewal-" .. inv.id .. "-" .. n })
  return db.tx(function(tx)
    invoices.set(tx, inv.id, now, { attempts = n })
    local cur = invoices.get(tx, inv.id)
    if not ok or type(res) ~= "table" then
      -- the provider could not be asked: not the customer's refusal, retried later
      invoices.set(tx, inv.id, now, { last_error = payments.message(res) })
      log.warn("renewal charge could not reach the provider", { invoice = inv.number, error = payments.message(res) })
      return "error"
    elseif res.status == "succeeded" then
      billing.settle(tx, cur, { payment_id = res.id, amount = inv.total_minor, currency = inv.currency }, now)
      return "paid"
    elseif res.status == "pending" then
      if res.id then invoices.set(tx, inv.id, now, { payment_ref = tostring(res.id) }) end
      return "pending"
    end
    billing.failed(tx, cur, tostring(res.error or "payment failed"), now)
    return "failed"
  end)
end

-- run(now?) -> {invoiced = n, paid = n, failed = n, ...}: one pass of the job.
function M.run(now)
  now = now or vtime.now()
  local out = { invoiced = 0, paid = 0, failed = 0, pending = 0, error = 0, checkout = 0 }
  local due = check(db.query("select s.id from subscription_subscriptions s where s.status in ('trialing', 'active')"
    .. " and s.auto_renew and not s.cancel_at_period_end and s.period_end <= to_timestamp($1)"
    .. " and not exists (select 1 from subscription_invoices i where i.subscription_id = s.id"
    .. " and i.kind = 'renewal' and i.period_start = s.period_end and i.status <> 'void')"
    .. " order by s.period_end limit 500", now + settings.billing("renew_ahead_seconds")))
  for _, r in ipairs(due) do
    if invoice(r.id, now) then out.invoiced = out.invoiced + 1 end
  end
  local open = check(db.query("select i.id from subscription_invoices i join subscription_subscriptions s"
    .. " on s.id = i.subscription_id where i.kind = 'renewal' and i.status = 'open' and s.status in " .. subs.LIVE
    .. " and (i.last_attempt_at is null or i.last_attempt_at <= to_timestamp($1)) order by i.created_at limit 500",
    now - settings.billing("retry_seconds")))
  for _, r in ipairs(open) do
    local res = attempt(r.id, now)
    out[res] = out[res] + 1
  end
  return out
end

return M
