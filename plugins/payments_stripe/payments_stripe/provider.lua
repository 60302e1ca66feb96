-- payments_stripe.provider: the payments contract (docs/plugin-guide.md,
-- "The payments contract") over Stripe's public HTTP API, through vbwd.http
-- (the egress allow-list names api.stripe.com):
--   create_checkout -> POST /v1/checkout/sessions (mode payment; the payment
--     method is saved for off-session use; metadata.reference on the session
--     and its PaymentIntent)
--   charge          -> POST /v1/payment_intents (confirm, off_session) with the
--     saved customer and payment method: a renewal or a plan change
--   refund          -> POST /v1/refunds
--   verify_webhook  -> Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]; HMAC-SHA256
--     over "<t>.<body>" with the endpoint secret; |now - t| <= tolerance_seconds
-- Stripe's events are mapped to the contract's payment.succeeded,
-- payment.failed and refund.succeeded; any other type comes back as
-- "ignored.<type>" (recorded by the consumer, changing nothing).
local http = require("vbwd.http")
local json = require("vbwd.json")
local crypto = require("vbwd.crypto")
local vtime = require("vbwd.time")
local form = require("payments_stripe.form")

local M = {}

local config = {}

function M.configure(cfg)
  config = cfg or {}
end

local function bad(why)
  error({ status = 422, message = why })
end

local function check_money(a)
  if type(a) ~= "table" then bad("a request table is required") end
  if type(a.amount) ~= "number" or a.amount < 1 or a.amount ~= math.floor(a.amount) then
    bad("amount must be a positive integer (minor units)")
  end
  if type(a.currency) ~= "string" or not a.currency:match("^%a%a%a$") then bad("currency must be an ISO 4217 code") end
  if type(a.reference) ~= "string" or a.reference == "" then bad("reference is required") end
end

-- post(path, params, idempotency_key?) -> the decoded answer of a 2xx, or
-- nil and Stripe's error object ({type, code, message, payment_intent?}).
local function post(path, params, key)
  if (config.secret_key or "") == "" then
    error({ status = 503, message = "payments_stripe: secret_key is not configured" })
  end
  local headers = { authorization = "Bearer " .. config.secret_key,
    ["content-type"] = "application/x-www-form-urlencoded" }
  if key then headers["idempotency-key"] = key end
  local res, err = http.post(config.api_base .. path, { headers = headers, body = form.encode(params),
    timeout = config.timeout_seconds or 20 })
  if not res then error({ status = 502, message = "stripe " .. path .. ": " .. tostring(err) }) end
  if res.status >= 200 and res.status < 300 and type(res.json) == "table" then return res.json end
  local e = type(res.json) == "table" and type(res.json.error) == "table" and res.json.error or nil
  if e and (e.type == "card_error" or res.status == 402) then return nil, e end
  error({ status = 502, message = "stripe " .. path .. " answered " .. res.status
    .. (e and e.message and (": " .. tostring(e.message)) or "") })
end

-- create_checkout{amount, currency, reference, customer?, description?,
-- success_url, cancel_url, idempotency_key?} -> {id, url}
function M.create_checkout(a)
  check_money(a)
  if type(a.success_url) ~= "string" or type(a.cancel_url) ~= "string" then
    bad("success_url and cancel_url are required by Stripe Checkout")
  end
  local meta = { reference = a.reference, user = a.customer }
  local s = post("/v1/checkout/sessions", {
    mode = "payment",
    line_items = { { quantity = 1, price_data = { currency = a.currency:lower(), unit_amount = a.amount,
      product_data = { name = a.description or "Subscription" } } } },
    success_url = a.success_url, cancel_url = a.cancel_url,
    client_reference_id = a.reference,
    customer_creation = "always",
    metadata = meta,
    payment_intent_data = { metadata = meta, setup_future_usage = "off_session" },
  }, a.idempotency_key)
  if not s then error({ status = 502, message = "stripe refused the checkout session" }) end
  return { id = s.id, url = s.url }
end

local PI_STATUS = { succeeded = "succeeded", processing = "pending" }

-- charge{amount, currency, reference, customer, payment_method,
-- idempotency_key?} -> {id, status = "succeeded" | "pending" | "failed", error?}
function M.charge(a)
  check_money(a)
  if type(a.customer) ~= "string" then bad("customer is required") end
  local pi, e = post("/v1/payment_intents", {
    amount = a.amount, currency = a.currency:lower(), customer = a.customer,
    payment_method = a.payment_method, off_session = true, confirm = true,
    description = a.description, metadata = { reference = a.reference },
  }, a.idempotency_key)
  if not pi then
    local id = type(e.payment_intent) == "table" and e.payment_intent.id or nil
    return { id = id, status = "failed", error = tostring(e.message or e.code or "card declined") }
  end
  local st = PI_STATUS[pi.status] or "failed"
  return { id = pi.id, status = st, error = st == "failed" and ("payment intent is " .. tostring(pi.status)) or nil }
end

-- refund(payment_id, amount) -> {id, status, amount}
function M.refund(payment_id, amount)
  if type(payment_id) ~= "string" or payment_id == "" then bad("payment_id is required") end
  if type(amount) ~= "number" or amount < 1 or amount ~= math.floor(amount) then
    bad("amount must be a positive integer")
  end
  local r, e = post("/v1/refunds", { payment_intent = payment_id, amount = amount },
    "refund-" .. payment_id .. "-" .. amount)
  if not r then error({ status = 502, message = "stripe refused the refund: " .. tostring(e.message) }) end
  return { id = r.id, status = r.status == "succeeded" and "succeeded" or tostring(r.status), amount = r.amount }
end

-- parse_signature("t=1,v1=a,v1=b,v0=c") -> t (number), {v1 signatures}, t as sent
function M.parse_signature(h)
  local t, raw, sigs = nil, nil, {}
  for part in tostring(h):gmatch("[^,]+") do
    local k, v = part:match("^%s*([%w_]+)=(.-)%s*$")
    if k == "t" and v:match("^%d+$") then t, raw = tonumber(v), v
    elseif k == "v1" then sigs[#sigs + 1] = v end
  end
  return t, sigs, raw
end

local function refuse(why)
  error({ status = 400, message = why })
end

-- map turns a Stripe event into the contract's event.
local function map(ev)
  local o = type(ev.data) == "table" and ev.data.object or nil
  if type(o) ~= "table" then return { id = ev.id, type = "ignored." .. ev.type } end
  local meta = type(o.metadata) == "table" and o.metadata or {}
  if ev.type == "payment_intent.succeeded" or ev.type == "payment_intent.payment_failed" then
    local failed = ev.type == "payment_intent.payment_failed"
    local le = type(o.last_payment_error) == "table" and o.last_payment_error or {}
    return { id = ev.id, type = failed and "payment.failed" or "payment.succeeded", payment_id = o.id,
      reference = meta.reference, amount = failed and o.amount or (o.amount_received or o.amount),
      currency = type(o.currency) == "string" and o.currency:upper() or nil, customer = o.customer,
      payment_method = o.payment_method, error = failed and tostring(le.message or "payment failed") or nil }
  elseif ev.type == "charge.refunded" then
    return { id = ev.id, type = "refund.succeeded", payment_id = o.payment_intent, reference = meta.reference,
      amount = o.amount_refunded, currency = type(o.currency) == "string" and o.currency:upper() or nil }
  end
  return { id = ev.id, type = "ignored." .. ev.type }
end

-- verify_webhook{headers, body} -> the contract's event, or 400.
function M.verify_webhook(req)
  if type(req) ~= "table" or type(req.body) ~= "string" or type(req.headers) ~= "table" then
    refuse("a request {headers, body} is required")
  end
  if (config.webhook_secret or "") == "" then
    error({ status = 503, message = "payments_stripe: webhook_secret is not configured" })
  end
  local header = req.headers["stripe-signature"]
  if type(header) ~= "string" then refuse("no Stripe-Signature header") end
  local t, sigs, raw = M.parse_signature(header)
  if not t or #sigs == 0 then refuse("Stripe-Signature has no t= timestamp or no v1= signature") end
  local expected = crypto.hmac_sha256(config.webhook_secret, raw .. "." .. req.body)
  local ok = false
  for _, s in ipairs(sigs) do
    if crypto.constant_time_eq(s:lower(), expected) then ok = true end
  end
  if not ok then refuse("no Stripe-Signature v1 signature matches the body") end
  if math.abs(vtime.unix() - t) > (config.tolerance_seconds or 300) then
    refuse("the Stripe-Signature timestamp is outside the tolerance (a replay?)")
  end
  local ev = json.decode(req.body)
  if type(ev) ~= "table" or type(ev.id) ~= "string" or type(ev.type) ~= "string" then
    refuse("the body is not a Stripe event")
  end
  return map(ev)
end

return M
