local t = require("vbwd.test")
local db = require("vbwd.db")

local DAILY = "/api/v1/tarot/daily"
local READINGS = "/api/v1/tarot/readings"

local function as(id) return { id = id, roles = { "subscriber" } } end

-- an admin grant: the plan live at once, without a payment (checkout and
-- payments are tested with payments_fake)
local function subscribe(id, plan)
  local res = t.post("/api/v1/subscription/grants", { json = { user_id = id, plan = plan or "basic" },
    as = { id = "admin", roles = { "admin" } } })
  t.eq(res.status, 201, "subscribe " .. id)
end

-- the cards of a user's daily readings on a day, in draw order
local function daily_cards(user, day)
  local rows = db.query("select card from tarot_readings where user_id = $1 and drawn_on = $2::date"
    .. " and kind = 'daily' order by draw_no", user, day)
  local out = {}
  for i, r in ipairs(rows) do out[i] = r.card end
  return out
end

t.test("populate loads the 78-card deck, once", function()
  t.time.set("2026-05-01T09:00:00Z")
  t.populate()
  t.populate()
  t.eq(db.query_one("select count(*) as n from tarot_cards").n, 78)
  t.eq(db.query_one("select count(*) as n from tarot_cards where arcana = 'major'").n, 22)
  local suits = db.query("select suit, count(*) as n from tarot_cards where arcana = 'minor'"
    .. " group by suit order by suit")
  t.eq(suits, { { suit = "cups", n = 14 }, { suit = "pentacles", n = 14 }, { suit = "swords", n = 14 },
    { suit = "wands", n = 14 } })
  t.eq(db.query_one("select name, arcana, number from tarot_cards where slug = 'the-fool'"),
    { name = "The Fool", arcana = "major", number = 0 })
  t.eq(db.query_one("select name, suit, number from tarot_cards where slug = 'king-of-pentacles'"),
    { name = "King of Pentacles", suit = "pentacles", number = 14 })
end)

t.test("refuses without a token, without the permission, without a subscription", function()
  t.eq(t.get(DAILY).status, 401)
  t.eq(t.get(READINGS).status, 401)
  local res = t.get(DAILY, { as = { id = "v1", roles = { "visitor" } } })
  t.eq(res.status, 403)
  t.eq(res.json.required, "tarot.read")
  res = t.get(DAILY, { as = as("u1") })
  t.eq(res.status, 402)
  t.eq(res.json.error, "subscription required")
end)

t.test("draws up to the plan's daily limit, then 429 until tomorrow", function()
  subscribe("u1", "basic")
  for n = 1, 3 do
    local res = t.get(DAILY, { as = as("u1") })
    t.eq(res.status, 200, "draw " .. n)
    t.eq(res.json.kind, "daily")
    t.eq(res.json.draw, n)
    t.eq(res.json.limit, 3)
    t.eq(res.json.remaining, 3 - n)
    t.eq(res.json.drawn_on, "2026-05-01")
    t.ok(type(res.json.card.name) == "string", "a card with a name")
    -- a welcome reading (when delivered) publishes tarot.card_drawn too: find this draw's
    local _, all = t.expect_event("tarot.card_drawn")
    local ev
    for _, e in ipairs(all) do
      if e.payload.reading_id == res.json.id then ev = e end
    end
    t.ok(ev, "tarot.card_drawn for reading " .. res.json.id)
    t.eq(ev.payload, { user_id = "u1", card = res.json.card.slug, reading_id = res.json.id, kind = "daily" })
  end
  local res = t.get(DAILY, { as = as("u1") })
  t.eq(res.status, 429)
  t.eq(res.json.error, "daily limit of 3 readings reached, come back tomorrow")
  t.eq(#daily_cards("u1", "2026-05-01"), 3, "the refused draw recorded nothing")

  t.time.advance(86400)
  res = t.get(DAILY, { as = as("u1") })
  t.eq(res.status, 200)
  t.eq(res.json.drawn_on, "2026-05-02")
  t.eq(res.json.draw, 1)
end)

t.test("the free plan's limit is 1; an admin holds tarot.read too", function()
  subscribe("f1", "free")
  t.eq(t.get(DAILY, { as = as("f1") }).status, 200)
  t.eq(t.get(DAILY, { as = as("f1") }).status, 429)
  t.eq(t.get(READINGS, { as = { id = "f1", roles = { "admin" } } }).status, 200)
end)

t.test("seeded draws are the same for a user and day", function()
  t.time.set("2026-06-10T08:00:00Z")
  subscribe("s1", "pro")
  for _ = 1, 5 do t.eq(t.get(DAILY, { as = as("s1") }).status, 200) end
  local first = daily_cards("s1", "2026-06-10")
  t.eq(#first, 5)
  -- forget the day's readings and draw again: the same cards, in the same order
  db.exec("delete from tarot_readings where user_id = 's1'")
  t.time.advance(3600) -- later the same day
  for _ = 1, 5 do t.eq(t.get(DAILY, { as = as("s1") }).status, 200) end
  t.eq(daily_cards("s1", "2026-06-10"), first)

  -- another day: deterministic as well (it may or may not differ)
  t.time.advance(86400)
  t.eq(t.get(DAILY, { as = as("s1") }).status, 200)
  local next_day = daily_cards("s1", "2026-06-11")
  db.exec("delete from tarot_readings where user_id = 's1' and drawn_on = '2026-06-11'")
  t.eq(t.get(DAILY, { as = as("s1") }).status, 200)
  t.eq(daily_cards("s1", "2026-06-11"), next_day)

  -- and another user draws their own sequence, deterministic too
  subscribe("s2", "pro")
  t.time.set("2026-06-10T20:00:00Z")
  for _ = 1, 5 do t.eq(t.get(DAILY, { as = as("s2") }).status, 200) end
  local other = daily_cards("s2", "2026-06-10")
  t.ok(table.concat(other, ",") ~= table.concat(first, ","), "another user draws other cards")
end)

t.test("readings history: newest first, cursor pagination", function()
  t.time.set("2026-07-01T10:00:00Z")
  subscribe("h1", "pro")
  for _ = 1, 5 do t.eq(t.get(DAILY, { as = as("h1") }).status, 200) end
  -- h1 also gets a welcome reading (a durable event): deliver it, for a stable count
  t.deliver()
  local rows = db.query("select id from tarot_readings where user_id = 'h1' and kind = 'welcome'")
  t.ok(#rows > 0, "the welcome reading arrived")
  local all = db.query("select id from tarot_readings where user_id = 'h1' order by id desc")
  t.eq(#all, 6)

  local seen, cursor, pages = {}, nil, 0
  repeat
    local path = READINGS .. "?limit=4" .. (cursor and ("&before=" .. cursor) or "")
    local res = t.get(path, { as = as("h1") })
    t.eq(res.status, 200)
    pages = pages + 1
    for _, r in ipairs(res.json.readings) do
      t.eq(r.user_id, "h1")
      seen[#seen + 1] = r.id
    end
    cursor = res.json.next
    if cursor == require("vbwd.json").null then cursor = nil end
  until not cursor or pages > 5
  t.eq(pages, 2)
  local expected = {}
  for i, r in ipairs(all) do expected[i] = r.id end
  t.eq(seen, expected)

  local res = t.get(READINGS, { as = as("h1") })
  t.eq(#res.json.readings, 6)
  t.eq(res.json.next, require("vbwd.json").null)
  t.eq(t.get(READINGS .. "?limit=0", { as = as("h1") }).status, 422)
  t.eq(t.get(READINGS .. "?limit=abc", { as = as("h1") }).status, 422)
  t.eq(t.get(READINGS .. "?before=-3", { as = as("h1") }).status, 422)
  -- someone else's history is their own
  t.eq(#t.get(READINGS, { as = as("nobody") }).json.readings, 0)
end)

t.test("subscription.activated grants one welcome reading, once per event", function()
  t.time.set("2026-08-01T10:00:00Z")
  subscribe("w1", "basic")
  local ev = t.expect_event("subscription.activated")
  t.deliver()                       -- runs the durable delivery now
  local res = t.get(READINGS, { as = as("w1") })
  t.eq(res.status, 200)
  local welcome = res.json.readings[1]
  t.ok(welcome, "the welcome reading arrived")
  t.eq(welcome.kind, "welcome")
  t.eq(welcome.drawn_on, "2026-08-01")
  t.ok(type(welcome.card.slug) == "string", "a card")
  -- a redelivery of the same event changes nothing
  local readings = require("tarot.readings")
  t.eq(readings.grant_welcome({ id = ev.id, name = ev.name, payload = ev.payload }), nil)
  t.eq(db.query_one("select count(*) as n from tarot_readings where user_id = 'w1'").n, 1)
  -- a welcome reading does not use up the daily limit
  for _ = 1, 3 do t.eq(t.get(DAILY, { as = as("w1") }).status, 200) end
  t.eq(t.get(DAILY, { as = as("w1") }).status, 429)
end)

t.test("cancelling the subscription answers 402 again", function()
  t.eq(t.post("/api/v1/subscription/cancel", { as = as("w1") }).status, 200)
  t.eq(t.get(DAILY, { as = as("w1") }).status, 402)
  -- history stays readable
  t.eq(t.get(READINGS, { as = as("w1") }).status, 200)
end)

t.test("every card of the deck has an upright and a reversed meaning", function()
  local meanings = require("tarot.meanings")
  local cards = db.query("select slug from tarot_cards order by slug")
  t.eq(#cards, 78)
  local seen = {}
  for _, c in ipairs(cards) do
    local m = meanings.of(c.slug)
    t.ok(m and type(m.upright) == "string" and type(m.reversed) == "string", "meanings of " .. c.slug)
    t.ok(m.upright ~= m.reversed, "two meanings for " .. c.slug)
    t.ok(not seen[m.upright], "upright meaning of " .. c.slug .. " is its own")
    seen[m.upright] = true
  end
  local res = t.get("/api/v1/tarot/cards/the-tower", { as = as("w1") })
  t.eq(res.status, 200)
  t.eq(res.json.name, "The Tower")
  t.eq(res.json.meanings, meanings.of("the-tower"))
  t.eq(t.get("/api/v1/tarot/cards/the-joker", { as = as("w1") }).status, 404)
  t.eq(t.get("/api/v1/tarot/cards/the-tower").status, 401)
end)

t.test("a three-card spread: past, present, future, distinct cards, each with its orientation's meaning", function()
  local meanings = require("tarot.meanings")
  local SPREADS = "/api/v1/tarot/spreads"
  t.time.set("2026-09-01T10:00:00Z")
  t.eq(t.post(SPREADS).status, 401)
  t.eq(t.post(SPREADS, { as = { id = "sp1", roles = { "visitor" } } }).status, 403)
  local res = t.post(SPREADS, { as = as("sp1") })
  t.eq(res.status, 402)
  t.eq(res.json.error, "subscription required")
  subscribe("sp1", "basic")
  t.eq(t.post(SPREADS, { json = { spread = "celtic-cross" }, as = as("sp1") }).status, 422)
  t.eq(t.post(SPREADS, { json = { spread = 3 }, as = as("sp1") }).status, 422)

  res = t.post(SPREADS, { json = { spread = "three-card" }, as = as("sp1") })
  t.eq(res.status, 201, t.repr(res.json))
  t.eq(res.json.spread, "three-card")
  t.eq(res.json.drawn_on, "2026-09-01")
  t.eq(#res.json.cards, 3)
  local positions, slugs = {}, {}
  for i, c in ipairs(res.json.cards) do
    positions[i] = c.position
    t.ok(not slugs[c.card.slug], "distinct cards")
    slugs[c.card.slug] = true
    t.ok(c.orientation == "upright" or c.orientation == "reversed", "an orientation")
    t.eq(c.meaning, meanings.of(c.card.slug)[c.orientation])
  end
  t.eq(positions, { "past", "present", "future" })
  t.eq(res.json.limit, 3)
  t.eq(res.json.remaining, 2)
  local ev = t.expect_event("tarot.spread_drawn")
  t.eq(ev.payload, { user_id = "sp1", spread_id = res.json.id, spread = "three-card" })

  -- re-read it; someone else's is a 404
  local again = t.get(SPREADS .. "/" .. res.json.id, { as = as("sp1") })
  t.eq(again.status, 200)
  t.eq(again.json.cards, res.json.cards)
  t.eq(t.get(SPREADS .. "/" .. res.json.id, { as = as("sp2") }).status, 404)
  t.eq(t.get(SPREADS .. "/nope", { as = as("sp1") }).status, 404)
  t.eq(t.get(SPREADS .. "/" .. res.json.id).status, 401)

  -- the day's limit, then tomorrow again
  t.eq(t.post(SPREADS, { as = as("sp1") }).status, 201)
  t.eq(t.post(SPREADS, { as = as("sp1") }).status, 201)
  res = t.post(SPREADS, { as = as("sp1") })
  t.eq(res.status, 429)
  t.eq(res.json.limit, 3)
  t.time.advance(86400)
  t.eq(t.post(SPREADS, { as = as("sp1") }).status, 201)
end)

t.test("reversed_chance decides the orientation: 1 reverses every card, 0 none", function()
  local SPREADS = "/api/v1/tarot/spreads"
  subscribe("sp3", "pro")
  t.config({ reversed_chance = 1 })
  local res = t.post(SPREADS, { as = as("sp3") })
  t.eq(res.status, 201)
  for _, c in ipairs(res.json.cards) do t.eq(c.orientation, "reversed") end
  t.config({ reversed_chance = 0 })
  res = t.post(SPREADS, { as = as("sp3") })
  for _, c in ipairs(res.json.cards) do t.eq(c.orientation, "upright") end
end)
