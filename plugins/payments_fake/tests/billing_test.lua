-- Billing in subscription with payments_fake as the provider: checkout →
-- invoice → payment → activation, webhooks (and their redelivery), the
-- Idempotency-Key, trials, renewal, failed renewals, past_due, expiry,
-- plan changes with proration, cancel at period end.
local t = require("vbwd.test")
local db = require("vbwd.db")
local json = require("vbwd.json")
local crypto = require("vbwd.crypto")

-- the subscription.billing job's pass (t.time does not run ctx:every jobs:
-- the admin route runs the same function)
local function run_billing()
  local res = t.post("/api/v1/subscription/billing/run", { as = { id = "ops", roles = { "admin" } } })
  t.eq(res.status, 200, t.repr(res.json))
  return res.json
end
local renewal = { run = run_billing }

local SUB = "/api/v1/subscription"
local FAKE = "/api/v1/payments_fake"
local ADMIN = { id = "admin1", roles = { "admin" } }

local function as(id) return { id = id } end

-- checkout and pay: returns the checkout answer
local function checkout(id, plan, headers)
  local res = t.post(SUB .. "/checkout", { json = { plan = plan }, as = as(id), headers = headers })
  t.eq(res.status, 201, t.repr(res.json))
  return res
end

local function pay(url, outcome)
  local path = url:match("(/api/v1/payments_fake/checkout/[%w_]+)$")
  t.ok(path, "a payments_fake checkout URL: " .. tostring(url))
  return t.post(path .. "/pay", { json = { outcome = outcome or "paid" } })
end

local function me(id)
  return t.get(SUB .. "/me", { as = as(id) })
end

t.test("a paid plan is pending until the provider's webhook reports the payment", function()
  t.populate()
  t.time.set("2026-03-01T00:00:00Z")
  local res = checkout("u1", "basic")
  t.eq(res.json.subscription.status, "pending")
  t.eq(res.json.invoice.status, "open")
  t.eq(res.json.invoice.total_minor, 499)
  t.eq(res.json.invoice.currency, "EUR")
  t.match(res.json.invoice.number, "^INV%-%d%d%d%d%d%d$")
  t.eq(#res.json.invoice.lines, 1)
  t.eq(res.json.invoice.lines[1].amount_minor, 499)
  t.match(res.json.checkout.url, "^http://127%.0%.0%.1:8080/api/v1/payments_fake/checkout/fake_cs_")
  t.eq(me("u1").status, 404)                         -- not active before the payment
  t.eq(t.get(FAKE .. "/checkout/" .. res.json.checkout.id).json.amount, 499)

  t.eq(pay(res.json.checkout.url).status, 200)
  t.eq(me("u1").status, 404)                         -- the webhook event is not delivered yet
  t.deliver()
  local m = me("u1")
  t.eq(m.status, 200)
  t.eq(m.json.status, "active")
  t.eq(m.json.plan.slug, "basic")
  t.eq(m.json.period_end, "2026-04-01T00:00:00Z")
  local ev = t.expect_event("subscription.activated")
  t.eq(ev.payload.user_id, "u1")
  local inv = t.get(SUB .. "/invoices/" .. res.json.invoice.number, { as = as("u1") })
  t.eq(inv.json.status, "paid")
  t.eq(inv.json.paid_at, "2026-03-01T00:00:00Z")
  -- paying twice is refused by the provider
  t.eq(pay(res.json.checkout.url).status, 409)
end)

t.test("a webhook delivered twice changes nothing the second time", function()
  local res = checkout("u2", "pro")
  local inv = { id = db.query_one("select reference from payments_fake_payments where id = $1",
    res.json.checkout.id).reference }
  local body = json.encode({ id = "evt_twice", type = "payment.succeeded", payment_id = "fake_pi_x",
    reference = inv.id, amount = 999, currency = "EUR", customer = "u2", payment_method = "pm_fake_u2" })
  local headers = { ["x-fake-signature"] = crypto.hmac_sha256("whsec_fake_development_only", body) }
  local first = t.post(SUB .. "/webhook", { body = body, headers = headers })
  t.eq(first.status, 200, t.repr(first.json))
  t.eq(first.json.changed, true)
  local period_end = me("u2").json.period_end
  t.time.advance(3600)
  local second = t.post(SUB .. "/webhook", { body = body, headers = headers })
  t.eq(second.status, 200)
  t.eq(second.json.duplicate, true)
  t.eq(me("u2").json.period_end, period_end)
  local _, all = t.expect_event("subscription.activated")
  local n = 0
  for _, e in ipairs(all) do if e.payload.user_id == "u2" then n = n + 1 end end
  t.eq(n, 1)
end)

t.test("the webhook refuses bad signatures and bodies", function()
  local body = json.encode({ id = "evt_bad", type = "payment.succeeded" })
  t.eq(t.post(SUB .. "/webhook", { body = body }).status, 400)
  local res = t.post(SUB .. "/webhook", { body = body, headers = { ["x-fake-signature"] = "00" } })
  t.eq(res.status, 400)
  t.match(res.json.error, "X%-Fake%-Signature")
  res = t.post(SUB .. "/webhook", { body = "not json",
    headers = { ["x-fake-signature"] = crypto.hmac_sha256("whsec_fake_development_only", "not json") } })
  t.eq(res.status, 400)
end)

t.test("a retried checkout with the same Idempotency-Key changes nothing", function()
  local h = { ["idempotency-key"] = "try-1" }
  local a = checkout("u3", "basic", h)
  local b = checkout("u3", "basic", h)
  t.eq(b.headers["idempotent-replayed"], "true")
  t.eq(b.json.invoice.number, a.json.invoice.number)
  t.eq(b.json.checkout, a.json.checkout)
  t.eq(#t.get(SUB .. "/invoices", { as = as("u3") }).json.invoices, 1)
  t.eq(db.query_one("select count(*) as n from payments_fake_payments where customer = 'u3'").n, 1)
  -- the same key for another request
  local res = t.post(SUB .. "/checkout", { json = { plan = "pro" }, as = as("u3"), headers = h })
  t.eq(res.status, 409)
  -- a bad key
  res = t.post(SUB .. "/checkout",
    { json = { plan = "pro" }, as = as("u3"), headers = { ["idempotency-key"] = "a b" } })
  t.eq(res.status, 400)
  -- a new checkout without the key supersedes the abandoned one
  local c = checkout("u3", "pro")
  t.ok(c.json.invoice.number ~= a.json.invoice.number, "a new invoice")
  t.eq(t.get(SUB .. "/invoices/" .. a.json.invoice.number, { as = as("u3") }).json.status, "void")
end)

t.test("a zero-price plan is live at once, a trial too, without a payment", function()
  t.time.set("2026-05-01T00:00:00Z")
  local res = checkout("z1", "free")
  t.eq(res.json.subscription.status, "active")
  t.eq(res.json.invoice.status, "paid")
  t.eq(res.json.invoice.total_minor, 0)
  t.eq(res.json.checkout, nil)
  t.eq(me("z1").json.status, "active")

  t.eq(t.post(SUB .. "/plans", { json = { slug = "team", name = "Team", price_minor = 2000, interval = "month",
    trial_days = 14, features = { meinchat = true } }, as = ADMIN }).status, 201)
  res = checkout("tr1", "team")
  t.eq(res.json.subscription.status, "trialing")
  t.eq(res.json.subscription.period_end, "2026-05-15T00:00:00Z")
  t.eq(res.json.invoice.total_minor, 0)
  t.match(res.json.invoice.lines[1].description, "trial %(14 days%)")
  local svc = require("vbwd.di").get("subscription.service")
  t.eq(svc.is_active("tr1"), true)
  -- a second trial is not given: cancel, then check out again
  t.eq(t.post(SUB .. "/cancel", { as = as("tr1") }).status, 200)
  res = checkout("tr1", "team")
  t.eq(res.json.subscription.status, "pending")
  t.eq(res.json.invoice.total_minor, 2000)
end)

t.test("checkout refusals: 401, 404, 409, 422", function()
  t.eq(t.post(SUB .. "/checkout", { json = { plan = "basic" } }).status, 401)
  t.eq(t.post(SUB .. "/checkout", { json = { plan = "gold" }, as = as("r1") }).status, 404)
  t.eq(t.post(SUB .. "/checkout", { json = {}, as = as("r1") }).status, 422)
  t.eq(t.post(SUB .. "/checkout",
    { json = { plan = "basic", success_url = "javascript:x" }, as = as("r1") }).status, 422)
  t.eq(t.post(SUB .. "/checkout", { json = { plan = "basic" }, as = as("u1") }).status, 409) -- u1 is active
  t.eq(t.post(FAKE .. "/checkout/fake_cs_nope/pay").status, 404)
  t.eq(t.get(FAKE .. "/checkout/fake_cs_nope").status, 404)
  t.eq(t.post(FAKE .. "/checkout/fake_cs_nope/pay", { json = { outcome = "maybe" } }).status, 422)
  t.eq(t.put(FAKE .. "/customers/u1", { json = { decline = true } }).status, 401)
  t.eq(t.put(FAKE .. "/customers/u1", { json = { decline = true }, as = as("u1") }).status, 403)
  t.eq(t.put(FAKE .. "/customers/u1", { json = { decline = "yes" }, as = ADMIN }).status, 422)
end)

t.test("renewal charges the saved payment method before the period ends", function()
  t.time.set("2026-06-01T00:00:00Z")
  local res = checkout("n1", "basic")
  pay(res.json.checkout.url)
  t.deliver()
  t.eq(me("n1").json.period_end, "2026-07-01T00:00:00Z")
  t.time.set("2026-06-29T00:00:00Z")                    -- two days before: not yet due
  renewal.run()
  t.eq(#t.get(SUB .. "/invoices", { as = as("n1") }).json.invoices, 1)
  t.time.set("2026-06-30T06:00:00Z")                    -- within renew_ahead_seconds (a day)
  renewal.run()
  local m = me("n1").json
  t.eq(m.status, "active")
  t.eq(m.period_start, "2026-07-01T00:00:00Z")
  t.eq(m.period_end, "2026-08-01T00:00:00Z")
  local ev = t.expect_event("subscription.renewed")
  t.eq(ev.payload.user_id, "n1")
  local list = t.get(SUB .. "/invoices", { as = as("n1") }).json.invoices
  t.eq(#list, 2)
  t.eq(list[1].kind, "renewal")
  t.eq(list[1].status, "paid")
  t.eq(list[1].period_start, "2026-07-01T00:00:00Z")
  -- the job again: nothing more, and the provider's event for the charge changes nothing
  renewal.run()
  t.deliver()
  t.eq(me("n1").json.period_end, "2026-08-01T00:00:00Z")
  t.eq(#t.get(SUB .. "/invoices", { as = as("n1") }).json.invoices, 2)
end)

t.test("a refused renewal makes the subscription past_due, then expired after the grace period", function()
  t.time.set("2026-06-01T00:00:00Z")
  local res = checkout("d1", "basic")
  pay(res.json.checkout.url)
  t.deliver()
  t.eq(t.put(FAKE .. "/customers/d1", { json = { decline = true }, as = ADMIN }).status, 200)
  t.time.set("2026-06-30T12:00:00Z")
  renewal.run()
  local m = me("d1").json
  t.eq(m.status, "past_due")
  t.eq(m.grace_until, "2026-07-08T00:00:00Z")          -- period end + 7 days
  t.expect_event("subscription.past_due")
  local svc = require("vbwd.di").get("subscription.service")
  t.eq(svc.is_active("d1"), true)                       -- within the grace period
  renewal.run()                                         -- retried only after retry_seconds
  local attempts = db.query_one("select count(*) as n from payments_fake_payments where customer = 'd1'"
    .. " and kind = 'charge'").n
  t.eq(attempts, 1)
  t.time.set("2026-07-02T00:00:00Z")
  renewal.run()                                         -- the retry is refused too
  t.eq(db.query_one("select count(*) as n from payments_fake_payments where customer = 'd1'"
    .. " and kind = 'charge'").n, 2)
  t.eq(me("d1").json.status, "past_due")
  t.time.set("2026-07-08T00:00:01Z")
  t.eq(svc.is_active("d1"), false)                      -- past grace, before the job ran
  run_billing()
  t.eq(t.get(SUB .. "/me", { as = as("d1") }).status, 404)
  local _, all = t.expect_event("subscription.expired")
  local mine
  for _, e in ipairs(all) do if e.payload.user_id == "d1" then mine = e end end
  t.ok(mine, "subscription.expired for d1")
  local list = t.get(SUB .. "/invoices", { as = as("d1") }).json.invoices
  t.eq(list[1].status, "uncollectible")
end)

t.test("a past_due subscription that pays its invoice is active again", function()
  t.time.set("2026-06-01T00:00:00Z")
  local res = checkout("d2", "basic")
  pay(res.json.checkout.url)
  t.deliver()
  t.put(FAKE .. "/customers/d2", { json = { decline = true }, as = ADMIN })
  t.time.set("2026-06-30T12:00:00Z")
  renewal.run()
  t.eq(me("d2").json.status, "past_due")
  t.put(FAKE .. "/customers/d2", { json = { decline = false }, as = ADMIN })
  t.time.set("2026-07-01T13:00:00Z")
  renewal.run()
  local m = me("d2").json
  t.eq(m.status, "active")
  t.eq(m.period_end, "2026-08-01T00:00:00Z")
  t.eq(m.grace_until, nil)
end)

t.test("an upgrade now is prorated and charged; a downgrade now is refunded", function()
  t.time.set("2026-09-01T00:00:00Z")                    -- a 30-day month
  local res = checkout("p1", "basic")
  pay(res.json.checkout.url)
  t.deliver()
  t.time.set("2026-09-16T00:00:00Z")                    -- half of it left
  res = t.post(SUB .. "/change", { json = { plan = "pro" }, as = as("p1") })
  t.eq(res.status, 200, t.repr(res.json))
  t.eq(res.json.subscription.plan.slug, "pro")
  t.eq(res.json.invoice.kind, "change")
  t.eq(res.json.invoice.status, "paid")
  t.eq(res.json.invoice.lines[1].amount_minor, -250)    -- round(499 / 2)
  t.eq(res.json.invoice.lines[2].amount_minor, 500)     -- round(999 / 2)
  t.eq(res.json.invoice.total_minor, 250)
  t.eq(res.json.subscription.period_end, "2026-10-01T00:00:00Z") -- the period is unchanged
  t.expect_event("subscription.changed")

  res = t.post(SUB .. "/change", { json = { plan = "basic" }, as = as("p1") })
  t.eq(res.status, 200)
  t.eq(res.json.subscription.plan.slug, "basic")
  t.eq(res.json.invoice.total_minor, -250)
  local list = t.get(SUB .. "/invoices", { as = as("p1") }).json.invoices
  t.eq(list[2].kind, "change")                          -- the upgrade's payment is refunded
  t.eq(list[2].refunded_minor, 250)
  t.eq(list[2].status, "refunded")
  t.eq(db.query_one("select sum(refunded_minor) as n from payments_fake_payments where customer = 'p1'").n, 250)
end)

t.test("a change at period end is invoiced at renewal; refusals", function()
  t.time.set("2026-09-01T00:00:00Z")
  local res = checkout("p2", "pro")
  pay(res.json.checkout.url)
  t.deliver()
  res = t.post(SUB .. "/change", { json = { plan = "basic", when = "period_end" }, as = as("p2") })
  t.eq(res.status, 200)
  t.eq(res.json.subscription.plan.slug, "pro")
  t.eq(res.json.subscription.next_plan, "basic")
  t.time.set("2026-09-30T12:00:00Z")
  renewal.run()
  local m = me("p2").json
  t.eq(m.plan.slug, "basic")
  t.eq(m.next_plan, nil)
  t.eq(t.get(SUB .. "/invoices", { as = as("p2") }).json.invoices[1].total_minor, 499)

  t.eq(t.post(SUB .. "/change", { json = { plan = "pro" } }).status, 401)
  t.eq(t.post(SUB .. "/change", { json = { plan = "basic" }, as = as("p2") }).status, 422) -- the current plan
  t.eq(t.post(SUB .. "/change", { json = { plan = "pro", when = "later" }, as = as("p2") }).status, 422)
  t.eq(t.post(SUB .. "/change", { json = { plan = "gold" }, as = as("p2") }).status, 404)
  t.eq(t.post(SUB .. "/change", { json = { plan = "pro" }, as = as("nobody") }).status, 409)
end)

t.test("cancel at period end keeps access until then; resume undoes it", function()
  t.time.set("2026-10-01T00:00:00Z")
  local res = checkout("c1", "basic")
  pay(res.json.checkout.url)
  t.deliver()
  res = t.post(SUB .. "/cancel", { json = { at_period_end = true }, as = as("c1") })
  t.eq(res.status, 200)
  t.eq(res.json.status, "active")
  t.eq(res.json.cancel_at_period_end, true)
  t.eq(t.post(SUB .. "/resume", { as = as("c1") }).json.cancel_at_period_end, false)
  t.eq(t.post(SUB .. "/resume", { as = as("c1") }).status, 409)
  t.eq(t.post(SUB .. "/cancel", { json = { at_period_end = "yes" }, as = as("c1") }).status, 422)
  t.post(SUB .. "/cancel", { json = { at_period_end = true }, as = as("c1") })
  t.time.set("2026-10-31T12:00:00Z")
  renewal.run()
  t.eq(#t.get(SUB .. "/invoices", { as = as("c1") }).json.invoices, 1) -- no renewal
  t.time.set("2026-11-01T00:00:01Z")
  run_billing()
  t.eq(me("c1").status, 404)
  local _, all = t.expect_event("subscription.cancelled")
  t.eq(all[#all].payload.user_id, "c1")
end)

t.test("invoices are the caller's own and exported through the exchanger", function()
  t.eq(t.get(SUB .. "/invoices").status, 401)
  local list = t.get(SUB .. "/invoices", { as = as("u1") })
  t.eq(list.status, 200)
  t.ok(#list.json.invoices >= 1, "u1's invoices")
  for _, inv in ipairs(list.json.invoices) do t.eq(inv.subscription_id, list.json.invoices[1].subscription_id) end
  t.eq(#t.get(SUB .. "/invoices", { as = as("nobody") }).json.invoices, 0)
  t.eq(t.get(SUB .. "/invoices/" .. list.json.invoices[1].number, { as = as("u2") }).status, 404)
  t.eq(t.get(SUB .. "/invoices?limit=0", { as = as("u1") }).status, 422)
  local SUPER = { id = "root", roles = { "vbwd-admin", "super_admin" } }
  local res = t.get("/admin/data-exchange/subscription.invoices/export?format=csv", { as = SUPER })
  t.eq(res.status, 200)
  t.match(res.body, "^number,user_id,plan,kind,status,currency,total_minor")
  t.match(res.body, "INV%-000001,")
  res = t.post("/admin/data-exchange/subscription.invoices/import?format=json",
    { json = { { number = "INV-999999" } }, as = SUPER })
  t.eq(res.status, 422)
end)

t.test("a payment failed at checkout leaves the subscription pending; a wrong amount activates nothing", function()
  local res = checkout("f1", "basic")
  t.eq(pay(res.json.checkout.url, "failed").status, 200)
  t.deliver()
  t.eq(me("f1").status, 404)
  local inv = t.get(SUB .. "/invoices/" .. res.json.invoice.number, { as = as("f1") }).json
  t.eq(inv.status, "open")
  t.match(inv.last_error, "failed at checkout")

  local ref = db.query_one("select reference from payments_fake_payments where id = $1", res.json.checkout.id).reference
  local body = json.encode({ id = "evt_cheap", type = "payment.succeeded", payment_id = "fake_pi_cheap",
    reference = ref, amount = 1, currency = "EUR" })
  local w = t.post(SUB .. "/webhook", { body = body,
    headers = { ["x-fake-signature"] = crypto.hmac_sha256("whsec_fake_development_only", body) } })
  t.eq(w.status, 200)
  t.eq(w.json.changed, false)
  t.eq(me("f1").status, 404)
  inv = t.get(SUB .. "/invoices/" .. res.json.invoice.number, { as = as("f1") }).json
  t.match(inv.last_error, "expected 499 EUR")
end)

t.test("a browser gets the checkout as a page whose form pays and returns to the success URL", function()
  local res = checkout("h1", "pro")
  local path = res.json.checkout.url:match("(/api/v1/payments_fake/checkout/[%w_]+)$")
  local page = t.get(path, { headers = { accept = "text/html,application/xhtml+xml" } })
  t.eq(page.status, 200)
  t.match(page.headers["content-type"], "^text/html")
  t.match(page.body, "9%.99 EUR")
  t.match(page.body, '<form method="post" action="' .. path:gsub("%p", "%%%0") .. '/pay">')
  local paid = t.post(path .. "/pay", { body = "outcome=paid",
    headers = { ["content-type"] = "application/x-www-form-urlencoded" } })
  t.eq(paid.status, 303)
  t.eq(paid.headers["location"], "http://127.0.0.1:8080/billing/success")
  t.deliver()
  t.eq(me("h1").json.status, "active")
  t.ok(not t.get(path, { headers = { accept = "text/html" } }).body:find("<form", 1, true), "no buttons once paid")
end)

t.test("an upgrade: declined (402, plan kept), without a saved method (202, a checkout), during a trial", function()
  t.time.set("2026-09-01T00:00:00Z")
  local res = checkout("g1", "basic")
  pay(res.json.checkout.url)
  t.deliver()
  t.eq(t.put(FAKE .. "/customers/g1", { json = { decline = true }, as = ADMIN }).status, 200)
  t.time.set("2026-09-16T00:00:00Z")
  res = t.post(SUB .. "/change", { json = { plan = "pro" }, as = as("g1") })
  t.eq(res.status, 402)
  t.match(res.json.error, "card declined")
  t.eq(me("g1").json.plan.slug, "basic")
  t.eq(t.get(SUB .. "/invoices/" .. res.json.invoice, { as = as("g1") }).json.status, "void")

  -- a free plan has no saved payment method: the prorated charge goes through a checkout
  t.time.set("2026-09-01T00:00:00Z")
  t.eq(checkout("g2", "free").status, 201)
  t.time.set("2026-09-16T00:00:00Z")
  res = t.post(SUB .. "/change", { json = { plan = "basic" }, as = as("g2") })
  t.eq(res.status, 202, t.repr(res.json))
  t.eq(res.json.invoice.total_minor, 250)             -- round(499 / 2) - 0
  t.eq(res.json.subscription.plan.slug, "free")       -- until it is paid
  pay(res.json.checkout.url)
  t.deliver()
  t.eq(me("g2").json.plan.slug, "basic")
  t.expect_event("subscription.changed")

  -- during a trial a change is not prorated
  t.eq(t.post(SUB .. "/plans", { json = { slug = "trial-basic", name = "Trial basic", price_minor = 700,
    interval = "month", trial_days = 7 }, as = ADMIN }).status, 201)
  t.eq(checkout("g3", "trial-basic").json.subscription.status, "trialing")
  res = t.post(SUB .. "/change", { json = { plan = "pro" }, as = as("g3") })
  t.eq(res.status, 200)
  t.eq(res.json.invoice.total_minor, 0)
  t.eq(res.json.subscription.plan.slug, "pro")
  t.eq(res.json.subscription.status, "trialing")
end)
