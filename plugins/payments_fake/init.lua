-- payments_fake: a payments provider for development and tests. It
-- implements the payments contract of subscription (docs/plugin-guide.md,
-- "The payments contract") without leaving the engine: its checkout URL is
-- served here, and POSTing to it marks the payment paid. Never enable it in
-- production: anyone can pay anything with it.
local provider = require("payments_fake.provider")

local P = {
  name = "payments_fake",
  version = "1.0.0",
  description = "Fake payments provider for development and tests (never in production)",
  author = "vbwd",
  dependencies = { "subscription@^1.0" },
  url_prefix = "/api/v1/payments_fake",
}

local MANAGE = "payments_fake.manage"

function P.initialize(cfg)
  provider.configure(cfg)
end

function P.on_enable(ctx)
  ctx:permission(MANAGE, { description = "Make a fake customer's charges fail or succeed", roles = { "admin" } })
  ctx:provide("payments_fake.payments", {
    create_checkout = provider.create_checkout,
    charge = provider.charge,
    refund = provider.refund,
    verify_webhook = provider.verify_webhook,
  })
end

local function public(p)
  return { id = p.id, amount = p.amount, currency = p.currency, description = p.description, status = p.status,
    pay = { method = "POST", url = "/api/v1/payments_fake/checkout/" .. p.id .. "/pay",
      body = { outcome = "paid | failed" } } }
end

function P.routes(r)
  -- the checkout page (JSON): what is being paid
  r:get("/checkout/{id}", function(req)
    local p = provider.find(require("vbwd.db"), req.params.id)
    if not p or p.kind ~= "checkout" then error({ status = 404, message = "no such checkout" }) end
    return 200, public(p)
  end)

  -- paying at the checkout: {"outcome": "failed"} fails it instead
  r:post("/checkout/{id}/pay", function(req)
    local outcome = "paid"
    if req.body and req.body ~= "" then
      local body = req:json()
      outcome = type(body) == "table" and body.outcome or nil
      if outcome == nil then outcome = "paid" end
      if outcome ~= "paid" and outcome ~= "failed" then
        error({ status = 422, message = "outcome must be paid or failed", field = "outcome" })
      end
    end
    return 200, provider.pay(req.params.id, outcome)
  end)

  -- {"decline": true}: the customer's next charges are declined (a failed renewal)
  r:put("/customers/{customer}", { permission = MANAGE }, function(req)
    local body = req:json()
    if type(body) ~= "table" or type(body.decline) ~= "boolean" then
      error({ status = 422, message = "decline must be true or false", field = "decline" })
    end
    return 200, provider.set_decline(req.params.customer, body.decline)
  end)
end

return P
