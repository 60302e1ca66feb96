-- payments_fake.provider: the payments contract (docs/plugin-guide.md, "The
-- payments contract") over a table of fake payments. Nothing leaves the
-- engine: a checkout is paid by POSTing to its URL, a charge succeeds unless
-- the customer was set to decline, and every outcome is also delivered as a
-- signed webhook-equivalent durable event, payments_fake.webhook
-- {headers, body}, exactly what a provider's webhook request would carry.
local db = require("vbwd.db")
local json = require("vbwd.json")
local crypto = require("vbwd.crypto")
local events = require("vbwd.events")
local vtime = require("vbwd.time")

local M = {}

local config = {}

function M.configure(cfg)
  config = cfg or {}
end

local function fail(err)
  error(tostring(err))
end

local function bad(why)
  error({ status = 422, message = why })
end

-- sign(body) -> the X-Fake-Signature of a webhook body
function M.sign(body)
  return crypto.hmac_sha256(config.webhook_secret, body)
end

-- deliver publishes the webhook-equivalent event for a payment (in the open transaction).
function M.deliver(ev)
  ev.id = "evt_fake_" .. crypto.uuid7()
  local body = json.encode(ev)
  local _, err = events.publish("payments_fake.webhook",
    { headers = { ["content-type"] = "application/json", ["x-fake-signature"] = M.sign(body) }, body = body })
  if err then error("payments_fake: publish payments_fake.webhook: " .. tostring(err)) end
  return ev.id
end

local function payment_event(type_, p, extra)
  local ev = { type = type_, payment_id = p.id, reference = p.reference, amount = p.amount, currency = p.currency,
    customer = p.customer, payment_method = p.payment_method }
  for k, v in pairs(extra or {}) do ev[k] = v end
  return ev
end

local function check_money(a)
  if type(a) ~= "table" then bad("a request table is required") end
  if type(a.amount) ~= "number" or a.amount < 1 or a.amount ~= math.floor(a.amount) then
    bad("amount must be a positive integer (minor units)")
  end
  if type(a.currency) ~= "string" or not a.currency:match("^%a%a%a$") then bad("currency must be an ISO 4217 code") end
  if type(a.reference) ~= "string" or a.reference == "" then bad("reference is required") end
end

local COLUMNS = "p.id, p.kind, p.amount, p.currency, p.reference, p.customer, p.description, p.status,"
  .. " p.refunded_minor, p.created_at, p.success_url, p.cancel_url, c.payment_method"
local FROM = " from payments_fake_payments p left join payments_fake_customers c on c.customer = p.customer"

function M.find(q, id)
  local row, err = q.query_one("select " .. COLUMNS .. FROM .. " where p.id = $1", id)
  if err then fail(err) end
  return row
end

local function by_key(q, key)
  if not key then return nil end
  local row, err = q.query_one("select " .. COLUMNS .. FROM .. " where p.idempotency_key = $1", key)
  if err then fail(err) end
  return row
end

local function checkout_url(id)
  return (config.base_url or ""):gsub("/+$", "") .. "/api/v1/payments_fake/checkout/" .. id
end

-- create_checkout{amount, currency, reference, customer?, description?,
-- success_url?, cancel_url?, idempotency_key?} -> {id, url}
function M.create_checkout(a)
  check_money(a)
  local prior = by_key(db, a.idempotency_key)
  if prior then return { id = prior.id, url = checkout_url(prior.id) } end
  local id = "fake_cs_" .. crypto.random_hex(12)
  local now = vtime.now()
  local _, err = db.exec("insert into payments_fake_payments (id, kind, amount, currency, reference, customer,"
    .. " description, status, idempotency_key, created_at, updated_at, success_url, cancel_url)"
    .. " values ($1, 'checkout', $2, $3, $4, $5, $6, 'open', $7, to_timestamp($8), to_timestamp($8), $9, $10)",
    id, a.amount, a.currency:upper(), a.reference, a.customer or db.null, a.description or db.null,
    a.idempotency_key or db.null, now, a.success_url or db.null, a.cancel_url or db.null)
  if err then fail(err) end
  return { id = id, url = checkout_url(id) }
end

-- pay settles an open checkout as the customer would at the provider's
-- page: paid (saving a payment method for the customer) or failed.
function M.pay(id, outcome)
  local now = vtime.now()
  return db.tx(function(tx)
    local _
    local p, err = tx.query_one("select id, status from payments_fake_payments where id = $1 and kind = 'checkout'"
      .. " for update", id)
    if err then fail(err) end
    if not p then error({ status = 404, message = "no such checkout" }) end
    if p.status ~= "open" then error({ status = 409, message = "this checkout is " .. p.status }) end
    local status = outcome == "failed" and "failed" or "paid"
    _, err = tx.exec("update payments_fake_payments set status = $2, updated_at = to_timestamp($3) where id = $1",
      id, status, now)
    if err then fail(err) end
    local row = M.find(tx, id)
    if status == "paid" and row.customer then
      _, err = tx.exec("insert into payments_fake_customers (customer, payment_method) values ($1, $2)"
        .. " on conflict (customer) do nothing", row.customer, "pm_fake_" .. crypto.random_hex(8))
      if err then fail(err) end
      row = M.find(tx, id)
    end
    M.deliver(payment_event(status == "paid" and "payment.succeeded" or "payment.failed", row,
      status == "failed" and { error = "the customer's payment failed at checkout" } or nil))
    return { id = id, status = status, reference = row.reference,
      return_url = status == "paid" and row.success_url or row.cancel_url }
  end)
end

-- charge{amount, currency, reference, customer, payment_method?,
-- idempotency_key?} -> {id, status = "succeeded" | "failed", error?}: an
-- off-session charge of the customer's saved payment method.
function M.charge(a)
  check_money(a)
  local prior = by_key(db, a.idempotency_key)
  if prior then
    return { id = prior.id, status = prior.status == "failed" and "failed" or "succeeded" }
  end
  if type(a.customer) ~= "string" then bad("customer is required") end
  local now = vtime.now()
  return db.tx(function(tx)
    local _
    local c, err = tx.query_one("select payment_method, decline from payments_fake_customers where customer = $1",
      a.customer)
    if err then fail(err) end
    local id = "fake_pi_" .. crypto.random_hex(12)
    local ok = c ~= nil and not c.decline
    local why = not c and "the customer has no saved payment method" or (c.decline and "card declined" or nil)
    _, err = tx.exec("insert into payments_fake_payments (id, kind, amount, currency, reference, customer,"
      .. " description, status, idempotency_key, created_at, updated_at)"
      .. " values ($1, 'charge', $2, $3, $4, $5, $6, $7, $8, to_timestamp($9), to_timestamp($9))",
      id, a.amount, a.currency:upper(), a.reference, a.customer, a.description or db.null,
      ok and "paid" or "failed", a.idempotency_key or db.null, now)
    if err then fail(err) end
    M.deliver(payment_event(ok and "payment.succeeded" or "payment.failed", M.find(tx, id), { error = why }))
    return { id = id, status = ok and "succeeded" or "failed", error = why }
  end)
end

-- refund(payment_id, amount) -> {id, status = "succeeded", amount}
function M.refund(payment_id, amount)
  if type(payment_id) ~= "string" then bad("payment_id is required") end
  if type(amount) ~= "number" or amount < 1 or amount ~= math.floor(amount) then
    bad("amount must be a positive integer")
  end
  local now = vtime.now()
  return db.tx(function(tx)
    local _
    local p, err = tx.query_one("select id, amount, refunded_minor, status from payments_fake_payments where id = $1"
      .. " for update", payment_id)
    if err then fail(err) end
    if not p then error({ status = 404, message = "no such payment" }) end
    if p.status ~= "paid" then error({ status = 409, message = "the payment is " .. p.status }) end
    if p.refunded_minor + amount > p.amount then bad("refunds would exceed the payment") end
    local total = p.refunded_minor + amount
    _, err = tx.exec("update payments_fake_payments set refunded_minor = $2, status = case when $2 >= amount"
      .. " then 'refunded' else status end, updated_at = to_timestamp($3) where id = $1", payment_id, total, now)
    if err then fail(err) end
    local id = "fake_re_" .. crypto.random_hex(12)
    M.deliver(payment_event("refund.succeeded", M.find(tx, payment_id), { amount = total, refund_id = id }))
    return { id = id, status = "succeeded", amount = amount }
  end)
end

-- verify_webhook{headers, body} -> the event, or 400 when the signature is
-- missing or wrong or the body is not an event.
function M.verify_webhook(req)
  if type(req) ~= "table" or type(req.body) ~= "string" or type(req.headers) ~= "table" then
    error({ status = 400, message = "a request {headers, body} is required" })
  end
  local sig = req.headers["x-fake-signature"]
  if type(sig) ~= "string" or not crypto.constant_time_eq(sig, M.sign(req.body)) then
    error({ status = 400, message = "bad X-Fake-Signature" })
  end
  local ev = json.decode(req.body)
  if type(ev) ~= "table" or type(ev.id) ~= "string" or type(ev.type) ~= "string" then
    error({ status = 400, message = "the body is not a payments_fake event" })
  end
  return ev
end

-- set_decline makes the customer's future charges fail (or succeed again).
function M.set_decline(customer, decline)
  local row, err = db.query_one("insert into payments_fake_customers (customer, payment_method, decline)"
    .. " values ($1, $2, $3) on conflict (customer) do update set decline = excluded.decline"
    .. " returning customer, payment_method, decline", customer, "pm_fake_" .. crypto.random_hex(8), decline)
  if err then fail(err) end
  return row
end

return M
