-- subscription.expiry: the ending half of the subscription.billing job, in
-- one transaction: a past_due subscription past its grace_until expires (its
-- open invoices become uncollectible); one whose cancellation was scheduled
-- is cancelled at period_end; an admin grant (auto_renew false) expires at
-- period_end; an auto-renewing one whose renewal is not paid by period_end
-- becomes past_due. Tests call run() directly.
local db = require("vbwd.db")
local settings = require("subscription.settings")
local subs = require("subscription.subscriptions")
local vtime = require("vbwd.time")

local M = {}

local function ended(tx, sql, now, event)
  local rows, err = tx.query("with e as (" .. sql .. " returning id, user_id, plan_id)"
    .. " select e.id, e.user_id, p.slug from e join subscription_plans p on p.id = e.plan_id order by e.id", now)
  if err then error(tostring(err)) end
  for _, r in ipairs(rows) do
    subs.publish(event, { user_id = r.user_id, plan = r.slug, subscription_id = r.id })
  end
  return rows
end

-- run(now?) expires what ended before now (Unix seconds, default
-- vbwd.time.now()) and returns the number of subscriptions that ended
-- (expired or cancelled) and the number that became past_due.
function M.run(now)
  now = now or vtime.now()
  local grace = settings.billing("grace_days") * 86400
  local n, pd = db.tx(function(tx)
    local gone = ended(tx, "update subscription_subscriptions set status = 'expired', updated_at = to_timestamp($1)"
      .. " where status = 'past_due' and grace_until <= to_timestamp($1)", now, "subscription.expired")
    for _, r in ipairs(gone) do
      local _, err = tx.exec("update subscription_invoices set status = 'uncollectible', updated_at = to_timestamp($2)"
        .. " where subscription_id = $1 and status = 'open'", r.id, now)
      if err then error(tostring(err)) end
    end
    local cancelled = ended(tx, "update subscription_subscriptions set status = 'cancelled',"
      .. " updated_at = to_timestamp($1) where status in ('trialing', 'active') and cancel_at_period_end"
      .. " and period_end <= to_timestamp($1)", now, "subscription.cancelled")
    local expired = ended(tx, "update subscription_subscriptions set status = 'expired', updated_at = to_timestamp($1)"
      .. " where status in ('trialing', 'active') and not auto_renew and period_end <= to_timestamp($1)",
      now, "subscription.expired")
    local rows, err = tx.query("with e as (update subscription_subscriptions set status = 'past_due',"
      .. " grace_until = period_end + make_interval(secs => $2), updated_at = to_timestamp($1)"
      .. " where status in ('trialing', 'active') and auto_renew and not cancel_at_period_end"
      .. " and period_end <= to_timestamp($1) returning id, user_id, plan_id)"
      .. " select e.id, e.user_id, p.slug from e join subscription_plans p on p.id = e.plan_id order by e.id",
      now, grace)
    if err then error(tostring(err)) end
    for _, r in ipairs(rows) do
      subs.publish("subscription.past_due", { user_id = r.user_id, plan = r.slug, subscription_id = r.id,
        reason = "the renewal was not paid by the period end" })
    end
    return #gone + #cancelled + #expired, #rows
  end)
  return n, pd
end

return M
