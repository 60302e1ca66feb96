-- payments_stripe: Stripe as the payments provider of subscription. It
-- implements the payments contract (docs/plugin-guide.md, "The payments
-- contract") with Stripe's public HTTP API through vbwd.http; Stripe's
-- webhooks are sent to subscription's POST /api/v1/subscription/webhook, which
-- has this plugin verify them. Select it with the root config.json:
-- {"subscription": {"payments": {"provider": "payments_stripe"}},
--  "payments_stripe": {"secret_key": "sk_...", "webhook_secret": "whsec_..."}}
local provider = require("payments_stripe.provider")

local P = {
  name = "payments_stripe",
  version = "1.0.0",
  description = "Stripe payments provider: Checkout, off-session renewals, refunds, signed webhooks",
  author = "vbwd",
  dependencies = { "subscription@^1.0" },
}

function P.initialize(cfg)
  provider.configure(cfg)
end

function P.on_enable(ctx)
  ctx:provide("payments_stripe.payments", {
    create_checkout = provider.create_checkout,
    charge = provider.charge,
    refund = provider.refund,
    verify_webhook = provider.verify_webhook,
  })
end

return P
