-- subscription.subscriptions: reading subscriptions, admin grants, cancel.
--
-- Time: every timestamp the plugin writes or compares (period_start,
-- period_end, grace_until, created_at, expiry) comes from vbwd.time.now() and
-- is passed to PostgreSQL as to_timestamp($n), never from PostgreSQL's now().
-- So the test clock (t.time.set / t.time.advance) moves subscriptions consistently.
local db = require("vbwd.db")
local events = require("vbwd.events")
local vtime = require("vbwd.time")
local plans = require("subscription.plans")

local M = {}

-- a user has at most one live subscription (the partial unique index
-- subscription_subscriptions_one_live)
M.LIVE = "('trialing', 'active', 'past_due')"

M.SUB_COLUMNS = "s.id, s.user_id, s.status, s.period_start, s.period_end, s.created_at, s.auto_renew,"
  .. " s.cancel_at_period_end, s.grace_until, s.started_at, s.plan_id, s.next_plan_id,"
  .. " s.customer_ref, s.payment_method_ref"
M.PLAN_COLUMNS = "p.slug, p.name, p.price_minor, p.currency, p.\"interval\", p.trial_days, p.features, p.active,"
  .. " np.slug as next_plan"
M.FROM = " from subscription_subscriptions s join subscription_plans p on p.id = s.plan_id"
  .. " left join subscription_plans np on np.id = s.next_plan_id"

function M.shape(row)
  if not row then return nil end
  return {
    id = row.id, user_id = row.user_id, status = row.status,
    period_start = row.period_start, period_end = row.period_end, created_at = row.created_at,
    auto_renew = row.auto_renew, cancel_at_period_end = row.cancel_at_period_end,
    grace_until = row.grace_until, next_plan = row.next_plan,
    plan = {
      slug = row.slug, name = row.name, price_minor = row.price_minor, currency = row.currency,
      interval = row.interval, trial_days = row.trial_days, features = row.features, active = row.active,
    },
  }
end

-- row(q, id) -> the raw subscription row with its plan columns, or nil.
function M.row(q, id)
  local row, err = q.query_one("select " .. M.SUB_COLUMNS .. ", " .. M.PLAN_COLUMNS .. M.FROM .. " where s.id = $1", id)
  if err then error(tostring(err)) end
  return row
end

-- live(q, user_id, lock) -> the user's live subscription row (trialing, active
-- or past_due), or nil; lock takes a row lock for the caller's transaction.
function M.live(q, user_id, lock)
  local row, err = q.query_one("select " .. M.SUB_COLUMNS .. ", " .. M.PLAN_COLUMNS .. M.FROM
    .. " where s.user_id = $1 and s.status in " .. M.LIVE .. (lock and " for update of s" or ""), user_id)
  if err then error(tostring(err)) end
  return row
end

-- current returns the user's live subscription with its plan, or nil. With
-- `now`, one that has lost access already counts as gone even before the
-- jobs ran: trialing/active past period_end, past_due past grace_until.
function M.current(user_id, now)
  local sql = "select " .. M.SUB_COLUMNS .. ", " .. M.PLAN_COLUMNS .. M.FROM
    .. " where s.user_id = $1 and s.status in " .. M.LIVE
  local row, err
  if now then
    row, err = db.query_one(sql .. " and case when s.status = 'past_due' then s.grace_until > to_timestamp($2)"
      .. " else s.period_end > to_timestamp($2) end", user_id, now)
  else
    row, err = db.query_one(sql, user_id)
  end
  if err then error(tostring(err)) end
  return M.shape(row)
end

-- lock_user serialises the billing changes of one user (checkout, grant,
-- change) for the caller's transaction.
function M.lock_user(tx, user_id)
  local _, err = tx.query_one("select pg_advisory_xact_lock(hashtext('subscription.user:' || $1))", user_id)
  if err then error(tostring(err)) end
end

function M.conflict(err)
  if err.code == "23505" and err.constraint == "subscription_subscriptions_one_live" then
    error({ status = 409, message = "already subscribed" })
  end
  error(tostring(err))
end

function M.publish(name, payload)
  local _, perr = events.publish(name, payload)
  if perr then error("subscription: publish " .. name .. ": " .. tostring(perr)) end
end

-- grant gives user_id plan_slug at once, without payment and without renewal
-- (auto_renew = false: it ends at period_end): an administrator's comp, and
-- how other plugins' tests get a subscriber. days overrides the plan interval.
function M.grant(user_id, plan_slug, days)
  local plan = plans.find(plan_slug, true)
  if not plan then error({ status = 404, message = "no such plan", plan = plan_slug }) end
  local now = vtime.now()
  local id = db.tx(function(tx)
    M.lock_user(tx, user_id)
    if M.live(tx, user_id) then error({ status = 409, message = "already subscribed" }) end
    local row, err = tx.query_one(
      "insert into subscription_subscriptions (user_id, plan_id, status, period_start, period_end, created_at,"
      .. " updated_at, started_at, auto_renew) values ($1, $2, 'active', to_timestamp($3),"
      .. " case when $5::integer > 0 then to_timestamp($3) + make_interval(days => $5::integer)"
      .. " when $4 = 'year' then to_timestamp($3) + interval '1 year' else to_timestamp($3) + interval '1 month' end,"
      .. " to_timestamp($3), to_timestamp($3), to_timestamp($3), false) returning id",
      user_id, plan.id, now, plan.interval, days or 0)
    if err then M.conflict(err) end
    M.publish("subscription.activated", { user_id = user_id, plan = plan.slug, subscription_id = row.id })
    return row.id
  end)
  return M.shape(M.row(db, id))
end

-- cancel ends the user's live subscription now (409 without one) and voids
-- its open invoices; with at_period_end it only stops the renewal: the
-- subscription runs to period_end, then the expiry job cancels it.
function M.cancel(user_id, at_period_end)
  local now = vtime.now()
  local id = db.tx(function(tx)
    local s = M.live(tx, user_id, true)
    if not s then error({ status = 409, message = "no active subscription" }) end
    local _, err
    if at_period_end then
      if s.status == "past_due" then
        error({ status = 409, message = "the subscription is past due: cancel it now" })
      end
      _, err = tx.exec("update subscription_subscriptions set cancel_at_period_end = true, next_plan_id = null,"
        .. " updated_at = to_timestamp($2) where id = $1", s.id, now)
      if err then error(tostring(err)) end
      M.publish("subscription.cancel_scheduled", { user_id = user_id, plan = s.slug, subscription_id = s.id,
        ends_at = s.period_end })
      return s.id
    end
    _, err = tx.exec("update subscription_subscriptions set status = 'cancelled', updated_at = to_timestamp($2)"
      .. " where id = $1", s.id, now)
    if err then error(tostring(err)) end
    _, err = tx.exec("update subscription_invoices set status = 'void', updated_at = to_timestamp($2)"
      .. " where subscription_id = $1 and status = 'open'", s.id, now)
    if err then error(tostring(err)) end
    M.publish("subscription.cancelled", { user_id = user_id, plan = s.slug, subscription_id = s.id })
    return s.id
  end)
  return M.shape(M.row(db, id))
end

-- resume undoes a cancel at period end (409 when none is scheduled).
function M.resume(user_id)
  local now = vtime.now()
  local id = db.tx(function(tx)
    local s = M.live(tx, user_id, true)
    if not s or not s.cancel_at_period_end then
      error({ status = 409, message = "no cancellation is scheduled" })
    end
    local _, err = tx.exec("update subscription_subscriptions set cancel_at_period_end = false,"
      .. " updated_at = to_timestamp($2) where id = $1", s.id, now)
    if err then error(tostring(err)) end
    return s.id
  end)
  return M.shape(M.row(db, id))
end

return M
