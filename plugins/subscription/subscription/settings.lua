-- subscription.settings: the plugin's config for its modules (set by
-- initialize in every state), with the billing defaults.
local M = {}

local config = {}

function M.set(cfg)
  config = cfg or {}
end

function M.get()
  return config
end

-- billing(key) -> config.billing[key], or its default
local DEFAULTS = {
  renew_ahead_seconds = 86400, -- charge this long before period_end
  retry_seconds = 86400,       -- between attempts at a failed renewal payment
  grace_days = 7,              -- past_due keeps access this long after period_end
  check_seconds = 60,          -- interval of the subscription.billing job
}

function M.billing(key)
  local b = config.billing
  if type(b) == "table" and b[key] ~= nil then return b[key] end
  return DEFAULTS[key]
end

-- payments(key) -> config.payments[key] (provider, success_url, cancel_url)
function M.payments(key)
  local p = config.payments
  return type(p) == "table" and p[key] or nil
end

return M
