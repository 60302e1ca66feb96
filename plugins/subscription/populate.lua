-- Demo plans. Create-only and idempotent: a plan whose slug exists is left as
-- it is (an operator may have edited it), so running this twice changes nothing.
local db = require("vbwd.db")

local demo = {
  { slug = "free", name = "Free", price_minor = 0, features = { tarot_daily_limit = 1, meinchat = false } },
  { slug = "basic", name = "Basic", price_minor = 499, features = { tarot_daily_limit = 3, meinchat = true } },
  { slug = "pro", name = "Pro", price_minor = 999, features = { tarot_daily_limit = 10, meinchat = true } },
}

return function(ctx)
  local currency = ctx.config and ctx.config.default_currency or "EUR"
  for _, p in ipairs(demo) do
    local _, err = db.exec(
      "insert into subscription_plans (slug, name, price_minor, currency, \"interval\", features, active)"
      .. " values ($1, $2, $3, $4, 'month', $5::jsonb, true) on conflict (slug) do nothing",
      p.slug, p.name, p.price_minor, currency, db.json(p.features))
    if err then error(tostring(err)) end
  end
  require("vbwd.log").info("subscription demo plans ready", { plugin = ctx.plugin })
end
