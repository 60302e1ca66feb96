-- subscription.plans: plan validation and queries. Every refusal is a 422
-- naming the field; a taken slug is a 409; plans are never hard-deleted.
local db = require("vbwd.db")

local M = {}

M.COLUMNS = "slug, name, price_minor, currency, \"interval\", trial_days, features, active"

local function reject(field, why)
  error({ status = 422, message = field .. " " .. why, field = field })
end

-- fail turns a database error into a response.
function M.fail(err)
  if err.code == "23505" and err.constraint == "subscription_plans_slug_key" then
    error({ status = 409, message = "a plan with this slug already exists" })
  end
  error(tostring(err))
end

-- validate checks a plan body (create: slug, name, price_minor and interval
-- are required) and returns the fields given, normalised.
function M.validate(body, create, default_currency)
  if type(body) ~= "table" then reject("body", "must be a JSON object") end
  local out = {}
  if body.slug ~= nil or create then
    if type(body.slug) ~= "string" or not body.slug:match("^[a-z0-9][a-z0-9-]*$") or #body.slug > 80 then
      reject("slug", "must be 1-80 lower-case letters, digits and dashes")
    end
    out.slug = body.slug
  end
  if body.name ~= nil or create then
    if type(body.name) ~= "string" or #body.name < 1 or #body.name > 200 then
      reject("name", "must be a string of 1-200 characters")
    end
    out.name = body.name
  end
  if body.price_minor ~= nil or create then
    local n = tonumber(body.price_minor) -- CSV imports give strings
    if not n or n < 0 or n ~= math.floor(n) or n > 2147483647 then
      reject("price_minor", "must be a non-negative integer (minor units)")
    end
    out.price_minor = n
  end
  local currency = body.currency
  if currency == nil and create then currency = default_currency end
  if currency ~= nil then
    if type(currency) ~= "string" or not currency:match("^[A-Z][A-Z][A-Z]$") then
      reject("currency", "must be a three-letter upper-case ISO 4217 code")
    end
    out.currency = currency
  end
  if body.interval ~= nil or create then
    if body.interval ~= "month" and body.interval ~= "year" then
      reject("interval", "must be month or year")
    end
    out.interval = body.interval
  end
  if body.trial_days ~= nil then
    local n = tonumber(body.trial_days)
    if not n or n < 0 or n > 365 or n ~= math.floor(n) then reject("trial_days", "must be an integer from 0 to 365") end
    out.trial_days = n
  end
  if body.features ~= nil then
    if type(body.features) ~= "table" or body.features[1] ~= nil then
      reject("features", "must be a JSON object")
    end
    out.features = body.features
  end
  if body.active ~= nil then
    local a = body.active
    if a == "true" then a = true elseif a == "false" then a = false end -- from CSV
    if type(a) ~= "boolean" then reject("active", "must be true or false") end
    out.active = a
  end
  return out
end

-- find returns the plan by slug (active or not), or nil.
function M.find(slug, active_only)
  local row, err = db.query_one("select id, " .. M.COLUMNS .. " from subscription_plans where slug = $1"
    .. (active_only and " and active" or ""), slug)
  if err then M.fail(err) end
  return row
end

-- public strips the internal id.
function M.public(row)
  if not row then return nil end
  row.id = nil
  return row
end

function M.list_active()
  local rows, err = db.query("select " .. M.COLUMNS .. " from subscription_plans where active"
    .. " order by price_minor, slug")
  if err then M.fail(err) end
  return rows
end

function M.create(p)
  local row, err = db.query_one(
    "insert into subscription_plans (slug, name, price_minor, currency, \"interval\", features, active, trial_days)"
    .. " values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) returning " .. M.COLUMNS,
    p.slug, p.name, p.price_minor, p.currency, p.interval, db.json(p.features or {}), p.active ~= false,
    p.trial_days or 0)
  if err then M.fail(err) end
  return row
end

function M.update(slug, p)
  local cur = M.find(slug)
  if not cur then error({ status = 404, message = "no such plan" }) end
  local active = cur.active
  if p.active ~= nil then active = p.active end
  local row, err = db.query_one(
    "update subscription_plans set slug = $2, name = $3, price_minor = $4, currency = $5, \"interval\" = $6,"
    .. " features = $7::jsonb, active = $8, trial_days = $9, updated_at = now() where id = $1 returning " .. M.COLUMNS,
    cur.id, p.slug or cur.slug, p.name or cur.name, p.price_minor or cur.price_minor,
    p.currency or cur.currency, p.interval or cur.interval, db.json(p.features or cur.features or {}), active,
    p.trial_days or cur.trial_days)
  if err then M.fail(err) end
  return row
end

-- deactivate hides a plan from the catalogue; existing subscriptions keep it.
function M.deactivate(slug)
  local row, err = db.query_one("update subscription_plans set active = false, updated_at = now()"
    .. " where slug = $1 returning " .. M.COLUMNS, slug)
  if err then M.fail(err) end
  if not row then error({ status = 404, message = "no such plan" }) end
  return row
end

return M
