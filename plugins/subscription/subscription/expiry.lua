-- subscription.expiry: marks active subscriptions whose period has ended as
-- expired and publishes subscription.expired for each, in one transaction.
-- Run by the subscription.expire job (ctx:every); tests call run() directly.
local db = require("vbwd.db")
local events = require("vbwd.events")
local vtime = require("vbwd.time")

local M = {}

-- run(now?) expires what ended before now (Unix seconds, default
-- vbwd.time.now()) and returns the number of subscriptions expired.
function M.run(now)
  now = now or vtime.now()
  local n = db.tx(function(tx)
    local rows, err = tx.query(
      "with e as (update subscription_subscriptions set status = 'expired', updated_at = to_timestamp($1)"
      .. " where status = 'active' and period_end <= to_timestamp($1) returning id, user_id, plan_id)"
      .. " select e.id, e.user_id, p.slug from e join subscription_plans p on p.id = e.plan_id order by e.id", now)
    if err then error(tostring(err)) end
    for _, r in ipairs(rows) do
      local _, perr = events.publish("subscription.expired",
        { user_id = r.user_id, plan = r.slug, subscription_id = r.id })
      if perr then error(tostring(perr)) end
    end
    return #rows
  end)
  return n
end

return M
