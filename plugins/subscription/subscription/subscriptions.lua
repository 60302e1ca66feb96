-- subscription.subscriptions: subscribe, cancel, and the current subscription.
--
-- Time: every timestamp the plugin writes or compares (period_start,
-- period_end, created_at, expiry) comes from vbwd.time.now() and is passed to
-- PostgreSQL as to_timestamp($n), never from PostgreSQL's now(). So the test
-- clock (t.time.set / t.time.advance) moves subscriptions consistently.
local db = require("vbwd.db")
local events = require("vbwd.events")
local vtime = require("vbwd.time")
local plans = require("subscription.plans")

local M = {}

local SUB_COLUMNS = "s.id, s.user_id, s.status, s.period_start, s.period_end, s.created_at"
local PLAN_COLUMNS = "p.slug, p.name, p.price_minor, p.currency, p.\"interval\", p.features, p.active"

local function shape(row)
  if not row then return nil end
  return {
    id = row.id, user_id = row.user_id, status = row.status,
    period_start = row.period_start, period_end = row.period_end, created_at = row.created_at,
    plan = {
      slug = row.slug, name = row.name, price_minor = row.price_minor, currency = row.currency,
      interval = row.interval, features = row.features, active = row.active,
    },
  }
end

-- current returns the user's active subscription with its plan, or nil.
-- (One whose period has ended stays "active" until the expiry job runs;
-- pass `now` to treat it as gone already.)
function M.current(user_id, now)
  local sql = "select " .. SUB_COLUMNS .. ", " .. PLAN_COLUMNS
    .. " from subscription_subscriptions s join subscription_plans p on p.id = s.plan_id"
    .. " where s.user_id = $1 and s.status = 'active'"
  local row, err
  if now then
    row, err = db.query_one(sql .. " and s.period_end > to_timestamp($2)", user_id, now)
  else
    row, err = db.query_one(sql, user_id)
  end
  if err then error(tostring(err)) end
  return shape(row)
end

local function conflict(err)
  if err.code == "23505" and err.constraint == "subscription_subscriptions_one_active" then
    error({ status = 409, message = "already subscribed" })
  end
  error(tostring(err))
end

-- subscribe activates plan_slug for user_id at once: pending -> active in one
-- transaction, with subscription.activated published in it.
function M.subscribe(user_id, plan_slug)
  local plan = plans.find(plan_slug, true)
  if not plan then error({ status = 404, message = "no such plan", plan = plan_slug }) end
  local now = vtime.now()
  db.tx(function(tx)
    local existing, err = tx.query_one("select id from subscription_subscriptions"
      .. " where user_id = $1 and status = 'active' for update", user_id)
    if err then error(tostring(err)) end
    if existing then error({ status = 409, message = "already subscribed" }) end
    local row
    row, err = tx.query_one(
      "insert into subscription_subscriptions (user_id, plan_id, status, period_start, period_end, created_at)"
      .. " values ($1, $2, 'pending', to_timestamp($3),"
      .. " to_timestamp($3) + case when $4 = 'year' then interval '1 year' else interval '1 month' end,"
      .. " to_timestamp($3)) returning id", user_id, plan.id, now, plan.interval)
    if err then conflict(err) end
    local _
    _, err = tx.exec("update subscription_subscriptions set status = 'active', updated_at = to_timestamp($2)"
      .. " where id = $1 and status = 'pending'", row.id, now)
    if err then conflict(err) end
    local _, perr = events.publish("subscription.activated",
      { user_id = user_id, plan = plan.slug, subscription_id = row.id })
    if perr then error(tostring(perr)) end
    return row
  end)
  return M.current(user_id)
end

-- cancel ends the user's active subscription (409 without one).
function M.cancel(user_id)
  local now = vtime.now()
  local row = db.tx(function(tx)
    local r, err = tx.query_one(
      "update subscription_subscriptions s set status = 'cancelled', updated_at = to_timestamp($2)"
      .. " from subscription_plans p where p.id = s.plan_id and s.user_id = $1 and s.status = 'active'"
      .. " returning s.id, p.slug", user_id, now)
    if err then error(tostring(err)) end
    if not r then error({ status = 409, message = "no active subscription" }) end
    local _, perr = events.publish("subscription.cancelled",
      { user_id = user_id, plan = r.slug, subscription_id = r.id })
    if perr then error(tostring(perr)) end
    return r
  end)
  local sub, err = db.query_one("select " .. SUB_COLUMNS .. ", " .. PLAN_COLUMNS
    .. " from subscription_subscriptions s join subscription_plans p on p.id = s.plan_id where s.id = $1", row.id)
  if err then error(tostring(err)) end
  return shape(sub)
end

return M
