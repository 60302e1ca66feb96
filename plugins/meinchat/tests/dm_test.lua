-- Direct messages between two users, and the per-user send rate limit.
local t = require("vbwd.test")

local BASE = "/api/v1/meinchat"
local ADMIN = { id = "admin", roles = { "admin" } }
local ANN, BEN, CAT, FREE = { id = "ann" }, { id = "ben" }, { id = "cat" }, { id = "free1" }

local function subscribe(user, plan)
  t.eq(t.post("/api/v1/subscription/grants", { json = { user_id = user.id, plan = plan }, as = ADMIN }).status, 201)
end

local function nick(user, n)
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = n }, as = user }).status, 200)
end

local function dm(from, to_nick, body)
  return t.post(BASE .. "/dm/" .. to_nick, { json = { body = body }, as = from })
end

t.test("sends and reads direct messages between two users", function()
  t.populate()
  t.time.set("2026-04-01T10:00:00Z")
  subscribe(ANN, "basic")
  subscribe(BEN, "pro")
  subscribe(CAT, "basic")
  nick(ANN, "ann")
  nick(BEN, "ben")
  nick(CAT, "cat")
  local res = dm(ANN, "ben", "hi ben")
  t.eq(res.status, 201, t.repr(res.json))
  t.eq(res.json.sender, "ann")
  t.eq(res.json.recipient, "ben")
  t.eq(res.json.sender_nickname, "ann")
  t.eq(res.json.body, "hi ben")
  t.eq(dm(BEN, "ann", "hello ann").status, 201)
  t.eq(dm(ANN, "ben", "how are you?").status, 201)
  t.eq(dm(CAT, "ben", "psst").status, 201)

  -- ben's conversations: cat (newest) and ann, with unread counts
  res = t.get(BASE .. "/dm", { as = BEN })
  t.eq(res.status, 200)
  t.eq(#res.json.conversations, 2)
  t.eq(res.json.conversations[1].with, { user_id = "cat", nickname = "cat" })
  t.eq(res.json.conversations[1].unread, 1)
  t.eq(res.json.conversations[2].with.nickname, "ann")
  t.eq(res.json.conversations[2].unread, 2)
  t.eq(res.json.conversations[2].last.body, "how are you?")

  -- the conversation with ann, newest first, paginated; reading marks it read
  res = t.get(BASE .. "/dm/ann?limit=2", { as = BEN })
  t.eq(res.status, 200)
  t.eq(#res.json.messages, 2)
  t.eq(res.json.messages[1].body, "how are you?")
  t.eq(res.json.messages[2].body, "hello ann")
  res = t.get(BASE .. "/dm/ann?limit=2&before=" .. res.json.next, { as = BEN })
  t.eq(#res.json.messages, 1)
  t.eq(res.json.messages[1].body, "hi ben")
  t.eq(res.json.next, nil)
  t.eq(t.get(BASE .. "/dm", { as = BEN }).json.conversations[2].unread, 0)
  -- a third user does not see it
  for _, m in ipairs(t.get(BASE .. "/dm/ann", { as = CAT }).json.messages) do
    t.ok(m.sender == "cat" or m.recipient == "cat", "cat sees only cat's messages")
  end
end)

t.test("direct message refusals: 401, 402, 404, 422", function()
  t.eq(t.post(BASE .. "/dm/ben", { json = { body = "x" } }).status, 401)
  t.eq(t.get(BASE .. "/dm").status, 401)
  t.eq(t.get(BASE .. "/dm/ben").status, 401)
  t.eq(t.get(BASE .. "/dm/events").status, 401)
  subscribe(FREE, "free")
  t.eq(dm(FREE, "ben", "hi").status, 402)
  t.eq(t.get(BASE .. "/dm", { as = FREE }).status, 402)
  t.eq(t.get(BASE .. "/dm/events", { as = FREE }).status, 402)
  t.eq(dm(ANN, "nobody", "hi").status, 404)
  t.eq(dm(ANN, "ann", "me").status, 422)
  t.eq(dm(ANN, "ben", "").status, 422)
  t.eq(dm(ANN, "ben", "   ").status, 422)
  t.eq(dm(ANN, "ben", string.rep("x", 2001)).status, 422)
  t.eq(t.post(BASE .. "/dm/ben", { json = { body = 1 }, as = ANN }).status, 422)
  t.eq(t.get(BASE .. "/dm/ben?limit=0", { as = ANN }).status, 422)
  t.eq(t.get(BASE .. "/dm/ben?before=x", { as = ANN }).status, 422)
end)

t.test("a user sending faster than the limit gets 429 with Retry-After, rooms and DMs counted together", function()
  t.config({ send_rate_limit = 3, send_rate_window_seconds = 60 })
  t.time.set("2026-04-02T10:00:00Z")
  t.eq(t.post(BASE .. "/rooms", { json = { slug = "r1", title = "R1" }, as = ANN }).status, 201)
  t.eq(t.post(BASE .. "/rooms/r1/messages", { json = { body = "one" }, as = ANN }).status, 201)
  t.time.advance(10)
  t.eq(dm(ANN, "ben", "two").status, 201)
  t.time.advance(10)
  t.eq(dm(ANN, "cat", "three").status, 201)
  local res = dm(ANN, "ben", "four")
  t.eq(res.status, 429)
  t.eq(res.headers["retry-after"], "40")                -- the first message leaves the window in 40 s
  t.eq(res.json.retry_after, 40)
  t.match(res.json.error, "at most 3 messages per 60 seconds")
  res = t.post(BASE .. "/rooms/r1/messages", { json = { body = "four" }, as = ANN })
  t.eq(res.status, 429)
  -- someone else is not limited by ann
  t.eq(dm(BEN, "ann", "fine here").status, 201)
  -- nothing was recorded for the refused sends
  t.eq(#t.get(BASE .. "/dm/ann", { as = BEN }).json.messages, 5)
  t.time.advance(41)
  t.eq(dm(ANN, "ben", "four").status, 201)
end)
