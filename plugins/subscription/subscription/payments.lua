-- subscription.payments: the configured payments provider, through vbwd.di.
-- The plugin never knows which provider it is: config payments.provider names
-- a plugin that depends on subscription and provides "<provider>.payments"
-- (the contract in docs/plugin-guide.md, "The payments contract").
local di = require("vbwd.di")
local settings = require("subscription.settings")

local M = {}

-- name() -> the configured provider plugin's name
function M.name()
  return settings.payments("provider") or "payments_fake"
end

-- provider() -> the provider's service proxy, or a 503 naming it
function M.provider()
  local name = M.name()
  local svc, err = di.get(name .. ".payments")
  if not svc then
    error({ status = 503, message = "payments provider " .. name .. " is not available: " .. tostring(err) })
  end
  return svc
end

-- call(method, ...) -> ok, result: a provider call whose failure is a value,
-- not an error (a refusal by the provider, a network failure, a missing provider).
function M.call(method, ...)
  local args = { ... }
  return pcall(function()
    local svc = M.provider()
    return svc[method](unpack(args))
  end)
end

-- message(err) -> a one-line reason from a pcall error
function M.message(err)
  if type(err) == "table" then return tostring(err.message or err.error or "provider error") end
  return tostring(err)
end

return M
