-- tarot.spreads: the three-card past/present/future spread. Three distinct
-- cards, each upright or reversed (reversed with probability
-- config.reversed_chance), with the card's meaning for its orientation;
-- recorded in tarot_spreads and published as tarot.spread_drawn.
--
-- Time: drawn_on and created_at come from vbwd.time, as for readings.
local db = require("vbwd.db")
local events = require("vbwd.events")
local crypto = require("vbwd.crypto")
local json = require("vbwd.json")
local vtime = require("vbwd.time")
local meanings = require("tarot.meanings")

local M = {}

M.SPREADS = { ["three-card"] = { "past", "present", "future" } }

local function fail(err)
  error(tostring(err))
end

-- card(row, reversed) -> a card of a spread with its orientation's meaning
local function card(row, position, reversed)
  local m = meanings.of(row.slug) or {}
  return {
    position = position,
    orientation = reversed and "reversed" or "upright",
    meaning = (reversed and m.reversed or m.upright) or json.null,
    card = { slug = row.slug, name = row.name, arcana = row.arcana, suit = row.suit, number = row.number },
  }
end

local function shape(q, row)
  local slugs = {}
  for i, c in ipairs(row.cards) do slugs[i] = c.slug end
  local rows, err = q.query("select slug, name, arcana, suit, number from tarot_cards where slug = any($1)", slugs)
  if err then fail(err) end
  local by = {}
  for _, r in ipairs(rows) do by[r.slug] = r end
  local cards = json.array()
  for i, c in ipairs(row.cards) do cards[i] = card(by[c.slug] or { slug = c.slug }, c.position, c.reversed) end
  return { id = row.id, user_id = row.user_id, spread = row.spread, drawn_on = row.drawn_on,
    created_at = row.created_at, cards = cards }
end

-- draw(user_id, spread, limit, reversed_chance) -> the recorded spread, with
-- limit and remaining (spreads of the user's day). 429 beyond the limit.
function M.draw(user_id, spread, limit, reversed_chance)
  local positions = M.SPREADS[spread]
  if not positions then
    error({ status = 422, message = "spread must be one of: three-card", field = "spread" })
  end
  local now, today = vtime.now(), vtime.today()
  return db.tx(function(tx)
    local _, err = tx.query_one("select pg_advisory_xact_lock(hashtext('tarot.spread:' || $1 || ':' || $2))",
      user_id, today)
    if err then fail(err) end
    local c
    c, err = tx.query_one("select count(*) as n from tarot_spreads where user_id = $1 and drawn_on = $2::date",
      user_id, today)
    if err then fail(err) end
    if c.n >= limit then
      error({ status = 429, message = "daily limit of " .. limit .. " spreads reached, come back tomorrow",
        limit = limit })
    end
    -- distinct cards in a random order: sorted by a hash of a fresh random seed
    local seed = crypto.random_hex(16)
    local rows
    rows, err = tx.query("select slug from tarot_cards order by md5(slug || $1) limit $2", seed, #positions)
    if err then fail(err) end
    if #rows < #positions then
      error({ status = 503, message = "the tarot deck is empty: run vbwd populate tarot" })
    end
    local cards = json.array()
    for i, r in ipairs(rows) do
      local byte = tonumber(seed:sub(2 * i - 1, 2 * i), 16) -- 0..255, independent of the order
      cards[i] = { position = positions[i], slug = r.slug, reversed = byte < reversed_chance * 256 }
    end
    local row
    row, err = tx.query_one("insert into tarot_spreads (user_id, spread, drawn_on, created_at, cards)"
      .. " values ($1, $2, $3::date, to_timestamp($4), $5::jsonb) returning *", user_id, spread, today, now,
      db.json(cards))
    if err then fail(err) end
    local _, perr = events.publish("tarot.spread_drawn", { user_id = user_id, spread_id = row.id, spread = spread })
    if perr then error("tarot: publish tarot.spread_drawn: " .. tostring(perr)) end
    local out = shape(tx, row)
    out.limit, out.remaining = limit, limit - c.n - 1
    return out
  end)
end

-- find(user_id, id) -> the user's spread, or 404 (also for someone else's)
function M.find(user_id, id)
  local n = tonumber(id)
  if not n or n < 1 or n ~= math.floor(n) then error({ status = 404, message = "no such spread" }) end
  local row, err = db.query_one("select * from tarot_spreads where id = $1 and user_id = $2", n, user_id)
  if err then fail(err) end
  if not row then error({ status = 404, message = "no such spread" }) end
  return shape(db, row)
end

-- card_info(slug) -> a card of the deck with both meanings, or 404
function M.card_info(slug)
  local row, err = db.query_one("select slug, name, arcana, suit, number from tarot_cards where slug = $1", slug)
  if err then fail(err) end
  if not row then error({ status = 404, message = "no such card" }) end
  local m = meanings.of(slug) or {}
  row.meanings = { upright = m.upright or json.null, reversed = m.reversed or json.null }
  return row
end

return M
