-- payments_stripe against a local fake of the Stripe endpoints it uses
-- (t.http.stub): checkout sessions, off-session payment intents, refunds,
-- and Stripe-Signature verification (good, bad, replayed, multiple v1).
local t = require("vbwd.test")
local json = require("vbwd.json")
local crypto = require("vbwd.crypto")
local vtime = require("vbwd.time")
local form = require("payments_stripe.form")

local SUB = "/api/v1/subscription"
local API = "https://api.stripe.com"
local SECRET = "whsec_test_secret"
local ADMIN = { id = "ops", roles = { "admin" } }

t.config({ secret_key = "sk_test_123", webhook_secret = SECRET })
t.config({ payments = { provider = "payments_stripe", success_url = "https://shop.example/ok",
  cancel_url = "https://shop.example/cancel" } }, "subscription")

local function as(id) return { id = id } end

local function unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- decode an x-www-form-urlencoded body into {key = value} (keys as sent: a[b][c])
local function params(body)
  local out = {}
  for pair in body:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    out[unescape(k)] = unescape(v)
  end
  return out
end

local function sign(body, ts, secret)
  return "t=" .. ts .. ",v1=" .. crypto.hmac_sha256(secret or SECRET, ts .. "." .. body)
end

local function webhook(ev, header)
  local body = json.encode(ev)
  return t.post(SUB .. "/webhook", { body = body,
    headers = { ["stripe-signature"] = header or sign(body, tostring(vtime.unix())) } })
end

local function pi_event(id, type_, pi)
  return { id = id, object = "event", type = type_, data = { object = pi } }
end

local REF -- the invoice id of u1's checkout, as sent to Stripe

t.test("checkout creates a Stripe Checkout Session", function()
  t.populate()
  t.time.set("2026-03-01T00:00:00Z")
  t.http.stub("POST", API .. "/v1/checkout/sessions",
    { status = 200, json = { id = "cs_test_1", object = "checkout.session",
      url = "https://checkout.stripe.com/c/pay/cs_test_1" } })
  local res = t.post(SUB .. "/checkout", { json = { plan = "basic" }, as = as("u1") })
  t.eq(res.status, 201, t.repr(res.json))
  t.eq(res.json.checkout, { id = "cs_test_1", url = "https://checkout.stripe.com/c/pay/cs_test_1" })
  t.eq(res.json.subscription.status, "pending")
  local calls = t.http.calls()
  t.eq(#calls, 1)
  t.eq(calls[1].headers["authorization"], "Bearer sk_test_123")
  t.eq(calls[1].headers["content-type"], "application/x-www-form-urlencoded")
  t.match(calls[1].headers["idempotency-key"], "^checkout%-")
  local p = params(calls[1].body)
  t.eq(p["mode"], "payment")
  t.eq(p["line_items[0][price_data][unit_amount]"], "499")
  t.eq(p["line_items[0][price_data][currency]"], "eur")
  t.eq(p["line_items[0][quantity]"], "1")
  t.eq(p["payment_intent_data[setup_future_usage]"], "off_session")
  t.eq(p["success_url"], "https://shop.example/ok")
  t.eq(p["payment_intent_data[metadata][reference]"], p["client_reference_id"])
  REF = p["client_reference_id"]
  t.ok(REF and #REF == 36, "the invoice id is the reference")
end)

t.test("a correctly signed payment_intent.succeeded activates; a redelivery changes nothing", function()
  local ev = pi_event("evt_1", "payment_intent.succeeded", { id = "pi_1", object = "payment_intent",
    amount = 499, amount_received = 499, currency = "eur", customer = "cus_1", payment_method = "pm_1",
    status = "succeeded", metadata = { reference = REF } })
  local res = webhook(ev)
  t.eq(res.status, 200, t.repr(res.json))
  t.eq(res.json.changed, true)
  local me = t.get(SUB .. "/me", { as = as("u1") })
  t.eq(me.json.status, "active")
  t.eq(me.json.period_end, "2026-04-01T00:00:00Z")
  res = webhook(ev)
  t.eq(res.status, 200)
  t.eq(res.json.duplicate, true)
end)

t.test("a badly signed webhook is refused", function()
  local body = json.encode(pi_event("evt_bad", "payment_intent.succeeded", { id = "pi_x", metadata = {} }))
  local now = tostring(vtime.unix())
  local res = webhook(json.decode(body), sign(body, now, "whsec_someone_else"))
  t.eq(res.status, 400)
  t.match(res.json.error, "no Stripe%-Signature v1 signature matches")
  res = t.post(SUB .. "/webhook", { body = body })
  t.eq(res.status, 400)
  t.match(res.json.error, "no Stripe%-Signature header")
  res = t.post(SUB .. "/webhook", { body = body, headers = { ["stripe-signature"] = "v1=abc" } })
  t.eq(res.status, 400)
  -- the body changed after signing
  res = t.post(SUB .. "/webhook", { body = body .. " ", headers = { ["stripe-signature"] = sign(body, now) } })
  t.eq(res.status, 400)
end)

t.test("a replayed (too old) webhook is refused, even correctly signed", function()
  local body = json.encode(pi_event("evt_old", "payment_intent.succeeded", { id = "pi_y", metadata = {} }))
  local old = tostring(vtime.unix() - 301)
  local res = t.post(SUB .. "/webhook", { body = body, headers = { ["stripe-signature"] = sign(body, old) } })
  t.eq(res.status, 400)
  t.match(res.json.error, "outside the tolerance")
  -- within the 300 s tolerance it is accepted
  local recent = tostring(vtime.unix() - 299)
  res = t.post(SUB .. "/webhook", { body = body, headers = { ["stripe-signature"] = sign(body, recent) } })
  t.eq(res.status, 200)
  t.eq(res.json.ignored, "no invoice for this event")
end)

t.test("any of several v1 signatures may match (secret rotation)", function()
  local body = json.encode(pi_event("evt_rot", "customer.created", { id = "cus_9" }))
  local now = tostring(vtime.unix())
  local header = "t=" .. now .. ",v1=" .. crypto.hmac_sha256("whsec_old", now .. "." .. body)
    .. ",v1=" .. crypto.hmac_sha256(SECRET, now .. "." .. body) .. ",v0=ignored"
  local res = t.post(SUB .. "/webhook", { body = body, headers = { ["stripe-signature"] = header } })
  t.eq(res.status, 200, t.repr(res.json))
  t.eq(res.json.received, true)
end)

t.test("renewal charges the saved card off-session through a PaymentIntent", function()
  t.http.stub("POST", API .. "/v1/payment_intents",
    { status = 200, json = { id = "pi_2", object = "payment_intent", status = "succeeded", amount = 499 } })
  t.time.set("2026-03-31T06:00:00Z")
  t.eq(t.post(SUB .. "/billing/run", { as = ADMIN }).status, 200)
  local calls = t.http.calls()
  t.eq(#calls, 1)
  t.eq(calls[1].url, API .. "/v1/payment_intents")
  local p = params(calls[1].body)
  t.eq(p.customer, "cus_1")
  t.eq(p.payment_method, "pm_1")
  t.eq(p.off_session, "true")
  t.eq(p.confirm, "true")
  t.eq(p.amount, "499")
  t.eq(p.currency, "eur")
  t.match(calls[1].headers["idempotency-key"], "^renewal%-")
  local me = t.get(SUB .. "/me", { as = as("u1") }).json
  t.eq(me.status, "active")
  t.eq(me.period_end, "2026-05-01T00:00:00Z")
end)

t.test("a declined renewal (402 card_error) makes the subscription past_due", function()
  t.http.stub("POST", API .. "/v1/payment_intents", { status = 402, json = { error = { type = "card_error",
    code = "card_declined", message = "Your card was declined.", payment_intent = { id = "pi_3" } } } })
  t.time.set("2026-04-30T06:00:00Z")
  t.eq(t.post(SUB .. "/billing/run", { as = ADMIN }).status, 200)
  local me = t.get(SUB .. "/me", { as = as("u1") }).json
  t.eq(me.status, "past_due")
  local inv = t.get(SUB .. "/invoices", { as = as("u1") }).json.invoices[1]
  t.eq(inv.status, "open")
  t.eq(inv.last_error, "Your card was declined.")
end)

t.test("a downgrade now refunds the difference through /v1/refunds", function()
  t.time.set("2026-06-01T00:00:00Z")
  t.http.stub("POST", API .. "/v1/checkout/sessions",
    { status = 200, json = { id = "cs_2", url = "https://checkout.stripe.com/c/pay/cs_2" } })
  t.eq(t.post(SUB .. "/checkout", { json = { plan = "pro" }, as = as("u2") }).status, 201)
  local ref = params(t.http.calls()[1].body)["client_reference_id"]
  t.eq(webhook(pi_event("evt_2", "payment_intent.succeeded", { id = "pi_pro", amount = 999, amount_received = 999,
    currency = "eur", customer = "cus_2", payment_method = "pm_2", metadata = { reference = ref } })).status, 200)
  t.http.stub("POST", API .. "/v1/refunds",
    { status = 200, json = { id = "re_1", status = "succeeded", amount = 250 } })
  t.time.set("2026-06-16T00:00:00Z")                    -- half of June left
  local res = t.post(SUB .. "/change", { json = { plan = "basic" }, as = as("u2") })
  t.eq(res.status, 200, t.repr(res.json))
  t.eq(res.json.invoice.total_minor, -250)
  local calls = t.http.calls()
  local p = params(calls[#calls].body)
  t.eq(calls[#calls].url, API .. "/v1/refunds")
  t.eq(p.payment_intent, "pi_pro")
  t.eq(p.amount, "250")
end)

t.test("Stripe answering 500, or a host outside http.allow, is a 502 and writes no live subscription", function()
  t.http.stub("POST", API .. "/v1/checkout/sessions", { status = 500, json = { error = { message = "boom" } } })
  local res = t.post(SUB .. "/checkout", { json = { plan = "basic" }, as = as("u3") })
  t.eq(res.status, 502)
  t.match(res.json.error, "answered 500")
  t.eq(t.get(SUB .. "/me", { as = as("u3") }).status, 404)
  t.config({ secret_key = "sk_test_123", webhook_secret = SECRET, api_base = "https://evil.example" })
  res = t.post(SUB .. "/checkout", { json = { plan = "basic" }, as = as("u3") })
  t.eq(res.status, 502)
  t.match(res.json.error, "evil%.example")
end)

t.test("without a webhook secret the webhook is 503 (Stripe retries), not accepted", function()
  t.config({ secret_key = "sk_test_123", webhook_secret = "" })
  local body = json.encode(pi_event("evt_nosecret", "payment_intent.succeeded", { id = "pi_z", metadata = {} }))
  local res = t.post(SUB .. "/webhook", { body = body,
    headers = { ["stripe-signature"] = sign(body, tostring(vtime.unix()), "") } })
  t.eq(res.status, 503)
  t.match(res.json.error, "webhook_secret is not configured")
  t.config({ secret_key = "sk_test_123", webhook_secret = SECRET })
end)

t.test("the form encoder uses Stripe's bracket notation", function()
  t.eq(form.encode({ a = { b = 1, c = { "x", "y" } }, d = true, e = "a b&c" }),
    "a%5Bb%5D=1&a%5Bc%5D%5B0%5D=x&a%5Bc%5D%5B1%5D=y&d=true&e=a%20b%26c")
end)

t.test("a checkout that failed at the provider is not replayed as a success under its Idempotency-Key", function()
  t.config({ secret_key = "sk_test_123", webhook_secret = SECRET })
  t.http.stub("POST", API .. "/v1/checkout/sessions", { status = 503, json = { error = { message = "down" } } })
  local h = { ["idempotency-key"] = "k-fail" }
  local res = t.post(SUB .. "/checkout", { json = { plan = "basic" }, as = as("u4"), headers = h })
  t.eq(res.status, 502)
  res = t.post(SUB .. "/checkout", { json = { plan = "basic" }, as = as("u4"), headers = h })
  t.eq(res.status, 409)
  t.match(res.json.error, "retry with a new key")
  t.http.stub("POST", API .. "/v1/checkout/sessions",
    { status = 200, json = { id = "cs_4", url = "https://x.example/cs_4" } })
  res = t.post(SUB .. "/checkout",
    { json = { plan = "basic" }, as = as("u4"), headers = { ["idempotency-key"] = "k-2" } })
  t.eq(res.status, 201)
end)

t.test("a payment for a superseded checkout gives no plan and is flagged for a refund", function()
  t.time.set("2026-07-01T00:00:00Z")
  t.http.stub("POST", API .. "/v1/checkout/sessions",
    { status = 200, json = { id = "cs_5", url = "https://x.example/cs_5" } })
  t.eq(t.post(SUB .. "/checkout", { json = { plan = "basic" }, as = as("u5") }).status, 201)
  local old = params(t.http.calls()[1].body)["client_reference_id"]
  local res = t.post(SUB .. "/checkout", { json = { plan = "pro" }, as = as("u5") })
  t.eq(res.status, 201)
  res = webhook(pi_event("evt_late", "payment_intent.succeeded", { id = "pi_late", amount = 499,
    amount_received = 499, currency = "eur", customer = "cus_5", payment_method = "pm_5",
    metadata = { reference = old } }))
  t.eq(res.status, 200)
  t.eq(res.json.changed, false)
  t.eq(t.get(SUB .. "/me", { as = as("u5") }).status, 404)
  local list = t.get(SUB .. "/invoices", { as = as("u5") }).json.invoices
  t.eq(list[2].status, "void")
  t.match(list[2].last_error, "refund payment pi_late")
end)
