-- subscription.invoices: invoices (number, lines, total, status), their
-- queries, the caller's list and the subscription.invoices exchanger's export.
local db = require("vbwd.db")
local json = require("vbwd.json")

local M = {}

local COLUMNS = "i.id, i.number, i.user_id, i.subscription_id, i.kind, i.status, i.currency, i.total_minor,"
  .. " i.lines, i.plan_id, i.period_start, i.period_end, i.payment_ref, i.checkout_ref, i.checkout_url,"
  .. " i.idempotency_key, i.request_hash, i.attempts, i.last_error, i.last_attempt_at, i.refunded_minor,"
  .. " i.created_at, i.paid_at, p.slug as plan"
local FROM = " from subscription_invoices i join subscription_plans p on p.id = i.plan_id"

local function fail(err)
  error(tostring(err))
end

-- public is what a user sees of an invoice.
function M.public(row)
  if not row then return nil end
  return {
    number = row.number, kind = row.kind, status = row.status, plan = row.plan, currency = row.currency,
    total_minor = row.total_minor, lines = row.lines, period_start = row.period_start,
    period_end = row.period_end, created_at = row.created_at, paid_at = row.paid_at,
    checkout_url = row.status == "open" and row.checkout_url or nil, last_error = row.last_error,
    refunded_minor = row.refunded_minor, subscription_id = row.subscription_id,
  }
end

-- create inserts an invoice in tx. f: {user_id, subscription_id, kind,
-- status, currency, plan_id, lines, period_start?, period_end?, now,
-- idempotency_key?, request_hash?}; the total is the sum of the lines.
function M.create(tx, f)
  local total = 0
  for _, l in ipairs(f.lines) do total = total + l.amount_minor end
  local row, err = tx.query_one(
    "insert into subscription_invoices (number, user_id, subscription_id, kind, status, currency, total_minor,"
    .. " lines, plan_id, period_start, period_end, idempotency_key, request_hash, created_at, updated_at, paid_at)"
    .. " values ('INV-' || lpad(nextval('subscription_invoice_number')::text, 6, '0'), $1, $2, $3, $4, $5, $6,"
    .. " $7::jsonb, $8, to_timestamp($9), to_timestamp($10), $11, $12, to_timestamp($13), to_timestamp($13),"
    .. " case when $4 = 'paid' then to_timestamp($13) end) returning id",
    f.user_id, f.subscription_id, f.kind, f.status, f.currency, total, db.json(json.array(f.lines)), f.plan_id,
    f.period_start or db.null, f.period_end or db.null, f.idempotency_key or db.null, f.request_hash or db.null,
    f.now)
  if err then
    if err.code == "23505" and err.constraint == "subscription_invoices_idempotency" then
      error({ status = 409, message = "a request with this Idempotency-Key is in progress" })
    end
    fail(err)
  end
  return M.get(tx, row.id)
end

-- get(q, id) -> the invoice row by id (nil when none or id is not a uuid).
function M.get(q, id)
  if type(id) ~= "string" or not id:match("^%x+%-%x+%-%x+%-%x+%-%x+$") then return nil end
  local row, err = q.query_one("select " .. COLUMNS .. FROM .. " where i.id = $1", id)
  if err then fail(err) end
  return row
end

-- by_idempotency_key(q, user_id, key) -> the invoice a checkout with key created, or nil.
function M.by_idempotency_key(q, user_id, key)
  local row, err = q.query_one("select " .. COLUMNS .. FROM .. " where i.user_id = $1 and i.idempotency_key = $2",
    user_id, key)
  if err then fail(err) end
  return row
end

-- by_payment_ref(q, ref) -> the invoice paid (or being paid) by a provider payment id.
function M.by_payment_ref(q, ref)
  local row, err = q.query_one("select " .. COLUMNS .. FROM .. " where i.payment_ref = $1", ref)
  if err then fail(err) end
  return row
end

-- open_of(q, subscription_id, kind) -> the subscription's open invoice of kind, or nil.
function M.open_of(q, subscription_id, kind)
  local row, err = q.query_one("select " .. COLUMNS .. FROM .. " where i.subscription_id = $1 and i.kind = $2"
    .. " and i.status = 'open' order by i.created_at desc limit 1", subscription_id, kind)
  if err then fail(err) end
  return row
end

-- last_paid(q, subscription_id) -> the latest paid invoice with a payment, for refunds.
function M.last_paid(q, subscription_id)
  local row, err = q.query_one("select " .. COLUMNS .. FROM .. " where i.subscription_id = $1 and i.status = 'paid'"
    .. " and i.payment_ref is not null and i.total_minor > i.refunded_minor order by i.paid_at desc limit 1",
    subscription_id)
  if err then fail(err) end
  return row
end

-- set(q, id, fields) updates the given columns of an invoice (fixed names only).
local SETTABLE = { status = true, payment_ref = true, checkout_ref = true, checkout_url = true, attempts = true,
  last_error = true, refunded_minor = true }
function M.set(q, id, now, fields)
  local parts, args = {}, { id, now }
  for k, v in pairs(fields) do
    if not SETTABLE[k] then error("invoices.set: unknown column " .. k) end
    args[#args + 1] = v
    parts[#parts + 1] = k .. " = $" .. #args
  end
  table.sort(parts)
  local extra = ""
  if fields.status == "paid" then extra = ", paid_at = to_timestamp($2)" end
  if fields.attempts then extra = extra .. ", last_attempt_at = to_timestamp($2)" end
  local _, err = q.exec("update subscription_invoices set " .. table.concat(parts, ", ") .. extra
    .. ", updated_at = to_timestamp($2) where id = $1", unpack(args))
  if err then fail(err) end
end

local function positive_int(v, field)
  local n = tonumber(v)
  if not n or n < 1 or n ~= math.floor(n) then
    error({ status = 422, message = field .. " must be a positive integer", field = field })
  end
  return n
end

-- list(user_id, limit?, offset?) -> {invoices, total}: the user's invoices, newest first.
function M.list(user_id, limit, offset)
  limit = limit and math.min(positive_int(limit, "limit"), 100) or 20
  offset = offset and tonumber(offset) or 0
  if offset < 0 or offset ~= math.floor(offset) then
    error({ status = 422, message = "offset must be a non-negative integer", field = "offset" })
  end
  local rows, err = db.query("select " .. COLUMNS .. FROM .. " where i.user_id = $1"
    .. " order by i.created_at desc, i.number desc limit $2 offset $3", user_id, limit, offset)
  if err then fail(err) end
  local out = json.array()
  for i, r in ipairs(rows) do out[i] = M.public(r) end
  return { invoices = out }
end

-- find_for(user_id, number) -> the user's invoice by number, or 404.
function M.find_for(user_id, number)
  local row, err = db.query_one("select " .. COLUMNS .. FROM .. " where i.user_id = $1 and i.number = $2",
    user_id, number)
  if err then fail(err) end
  if not row then error({ status = 404, message = "no such invoice" }) end
  return M.public(row)
end

M.EXPORT_FIELDS = { "number", "user_id", "plan", "kind", "status", "currency", "total_minor", "period_start",
  "period_end", "payment_ref", "created_at", "paid_at" }

function M.export(q)
  local rows, err = db.query("select i.number, i.user_id, p.slug as plan, i.kind, i.status, i.currency,"
    .. " i.total_minor, i.period_start, i.period_end, i.payment_ref, i.created_at, i.paid_at" .. FROM
    .. " order by i.number limit $1 offset $2", q.limit, q.offset)
  if err then fail(err) end
  return rows
end

-- invoices are the record of what was charged: they are exported, never imported
function M.import(rows)
  local res = { created = 0, updated = 0, skipped = 0, errors = {} }
  for i = 1, #rows do
    res.errors[#res.errors + 1] = { row = i, error = "invoices are read-only: they are exported, not imported" }
  end
  return res
end

return M
