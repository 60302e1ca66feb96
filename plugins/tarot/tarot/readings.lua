-- tarot.readings: drawing cards, recording readings, history.
--
-- Time: "today" and created_at come from vbwd.time (never PostgreSQL's now()),
-- passed as to_timestamp($n), so the test clock moves readings consistently.
local db = require("vbwd.db")
local events = require("vbwd.events")
local crypto = require("vbwd.crypto")
local json = require("vbwd.json")
local vtime = require("vbwd.time")
local meanings = require("tarot.meanings")

local M = {}

local COLUMNS = "r.id, r.user_id, r.kind, r.drawn_on, r.created_at, r.draw_no,"
  .. " c.slug, c.name, c.arcana, c.suit, c.number"

local function fail(err)
  error(tostring(err))
end

local function shape(row)
  return {
    id = row.id, user_id = row.user_id, kind = row.kind, drawn_on = row.drawn_on,
    created_at = row.created_at, draw = row.draw_no,
    card = { slug = row.slug, name = row.name, arcana = row.arcana, suit = row.suit, number = row.number,
      meanings = meanings.of(row.slug) },
  }
end

local function find(q, id)
  local row, err = q.query_one("select " .. COLUMNS .. " from tarot_readings r join tarot_cards c on c.slug = r.card"
    .. " where r.id = $1", id)
  if err then fail(err) end
  return shape(row)
end

-- pick(q, seed) -> the slug of a card: seed (a string) hashed, or random when nil.
local function pick(q, seed)
  local row, err = q.query_one("select count(*) as n from tarot_cards")
  if err then fail(err) end
  if row.n == 0 then
    error({ status = 503, message = "the tarot deck is empty: run vbwd populate tarot" })
  end
  local hex = seed and crypto.sha256(seed) or crypto.random_hex(4)
  local k = tonumber(hex:sub(1, 7), 16) % row.n -- 28 bits: exact in a Lua number
  local card
  card, err = q.query_one("select slug from tarot_cards order by slug offset $1 limit 1", k)
  if err then fail(err) end
  return card.slug
end

-- draw_daily records the user's next daily reading, within limit. One draw at
-- a time per user and day (an advisory lock), so concurrent calls never pass
-- the limit; the unique (user_id, drawn_on, draw_no) index backs it up.
function M.draw_daily(user_id, limit, seeded)
  local now = vtime.now()
  local today = vtime.today()
  return db.tx(function(tx)
    local _, err = tx.query_one("select pg_advisory_xact_lock(hashtext('tarot.daily:' || $1 || ':' || $2))",
      user_id, today)
    if err then fail(err) end
    local c
    c, err = tx.query_one("select count(*) as n from tarot_readings where user_id = $1 and drawn_on = $2::date"
      .. " and kind = 'daily'", user_id, today)
    if err then fail(err) end
    if c.n >= limit then
      error({ status = 429, message = "daily limit of " .. limit .. " readings reached, come back tomorrow",
        limit = limit })
    end
    local n = c.n + 1
    local slug = pick(tx, seeded and (user_id .. "|" .. today .. "|" .. n) or nil)
    local row
    row, err = tx.query_one("insert into tarot_readings (user_id, card, drawn_on, created_at, kind, draw_no)"
      .. " values ($1, $2, $3::date, to_timestamp($4), 'daily', $5) returning id", user_id, slug, today, now, n)
    if err then fail(err) end
    local _, perr = events.publish("tarot.card_drawn",
      { user_id = user_id, card = slug, reading_id = row.id, kind = "daily" })
    if perr then error("tarot: publish tarot.card_drawn: " .. tostring(perr)) end
    local reading = find(tx, row.id)
    reading.limit, reading.remaining = limit, limit - n
    return reading
  end)
end

-- grant_welcome records a welcome reading for a subscription.activated event,
-- once per event id (deliveries are at least once). Returns the reading, or
-- nil when this event was already handled.
function M.grant_welcome(event)
  local user_id = event.payload and event.payload.user_id
  if type(user_id) ~= "string" or user_id == "" then
    require("vbwd.log").warn("subscription.activated without a user_id", { event = event.id })
    return nil
  end
  return db.tx(function(tx)
    local slug = pick(tx, "welcome|" .. event.id)
    local row, err = tx.query_one("insert into tarot_readings (user_id, card, drawn_on, created_at, kind, event_id)"
      .. " values ($1, $2, $3::date, to_timestamp($4), 'welcome', $5) on conflict (event_id) do nothing returning id",
      user_id, slug, vtime.today(), vtime.now(), event.id)
    if err then fail(err) end
    if not row then return nil end
    local _, perr = events.publish("tarot.card_drawn",
      { user_id = user_id, card = slug, reading_id = row.id, kind = "welcome" })
    if perr then error("tarot: publish tarot.card_drawn: " .. tostring(perr)) end
    return find(tx, row.id)
  end)
end

local function positive_int(v, field)
  local n = tonumber(v)
  if not n or n < 1 or n ~= math.floor(n) then
    error({ status = 422, message = field .. " must be a positive integer", field = field })
  end
  return n
end

-- history(user_id, limit?, before?) -> {readings, next}: newest first (by id),
-- before is the cursor from the previous page's next; limit is capped at 100.
M.PAGE_SIZE, M.MAX_PAGE_SIZE = 20, 100

function M.history(user_id, limit, before)
  limit = limit and positive_int(limit, "limit") or M.PAGE_SIZE
  if limit > M.MAX_PAGE_SIZE then limit = M.MAX_PAGE_SIZE end
  local sql = "select " .. COLUMNS .. " from tarot_readings r join tarot_cards c on c.slug = r.card"
    .. " where r.user_id = $1"
  local rows, err
  if before then
    rows, err = db.query(sql .. " and r.id < $3 order by r.id desc limit $2", user_id, limit + 1,
      positive_int(before, "before"))
  else
    rows, err = db.query(sql .. " order by r.id desc limit $2", user_id, limit + 1)
  end
  if err then fail(err) end
  local out = json.array()
  for i = 1, math.min(#rows, limit) do out[i] = shape(rows[i]) end
  local nxt = json.null
  if #rows > limit then nxt = tostring(out[limit].id) end
  return { readings = out, next = nxt }
end

return M
