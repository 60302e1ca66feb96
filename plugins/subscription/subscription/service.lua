-- subscription.service: what other plugins ask (through vbwd.di). Reads the
-- database; a subscription counts as active while its status is active and
-- its period has not ended (by vbwd.time), even before the expiry job ran.
local vtime = require("vbwd.time")
local subscriptions = require("subscription.subscriptions")

local M = {}

local function check(user_id)
  if type(user_id) ~= "string" or user_id == "" then
    error({ status = 400, message = "user_id must be a non-empty string" })
  end
end

-- is_active(user_id) -> boolean
function M.is_active(user_id)
  check(user_id)
  return subscriptions.current(user_id, vtime.now()) ~= nil
end

-- plan_of(user_id) -> {slug, name, price_minor, currency, interval, features, active} or nil
function M.plan_of(user_id)
  check(user_id)
  local sub = subscriptions.current(user_id, vtime.now())
  return sub and sub.plan or nil
end

-- feature(user_id, key) -> the plan's feature value (number, boolean, string, table) or nil
function M.feature(user_id, key)
  check(user_id)
  if type(key) ~= "string" then error({ status = 400, message = "key must be a string" }) end
  local sub = subscriptions.current(user_id, vtime.now())
  if not sub or type(sub.plan.features) ~= "table" then return nil end
  return sub.plan.features[key]
end

return M
