local t = require("vbwd.test")
local db = require("vbwd.db")
local retention = require("meinchat.retention")

local BASE = "/api/v1/meinchat"
local SUB = "/api/v1/subscription"
local U1, U2, U3, FREE = { id = "u1" }, { id = "u2" }, { id = "u3" }, { id = "free1" }

-- an admin grant: the plan live at once, without a payment (checkout and
-- payments are tested with payments_fake)
local function subscribe(as, plan)
  local res = t.post(SUB .. "/grants", { json = { user_id = as.id, plan = plan },
    as = { id = "admin", roles = { "admin" } } })
  t.eq(res.status, 201, "subscribe " .. as.id .. " to " .. plan)
end

local function say(as, slug, body)
  return t.post(BASE .. "/rooms/" .. slug .. "/messages", { json = { body = body }, as = as })
end

t.test("populate gives the plans and the lobby, idempotently", function()
  t.populate()
  t.populate()
  t.eq(db.query_one("select count(*) as n from meinchat_rooms where slug = 'lobby'").n, 1)
  t.eq(db.query_one("select count(*) as n from meinchat_messages").n, 1)
  t.eq(db.query_one("select role from meinchat_members where user_id = 'demo'").role, "owner")
end)

t.test("answers 401 without a token on every route", function()
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = "x1" } }).status, 401)
  t.eq(t.post(BASE .. "/rooms", { json = { slug = "a", title = "A" } }).status, 401)
  t.eq(t.get(BASE .. "/rooms").status, 401)
  t.eq(t.post(BASE .. "/rooms/lobby/join").status, 401)
  t.eq(t.post(BASE .. "/rooms/lobby/messages", { json = { body = "hi" } }).status, 401)
  t.eq(t.get(BASE .. "/rooms/lobby/messages").status, 401)
  t.eq(t.get(BASE .. "/rooms/lobby/events").status, 401)
end)

t.test("answers 402 without a subscription and on the free plan", function()
  local res = t.get(BASE .. "/rooms", { as = FREE })
  t.eq(res.status, 402)
  t.eq(res.json.error, "meinchat requires a plan with chat")
  subscribe(FREE, "free")
  res = t.post(BASE .. "/rooms", { json = { slug = "free-room", title = "Free" }, as = FREE })
  t.eq(res.status, 402)
  t.eq(res.json.error, "meinchat requires a plan with chat")
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = "freebie" }, as = FREE }).status, 402)
  t.eq(t.post(BASE .. "/rooms/lobby/join", { as = FREE }).status, 402)
  t.eq(say(FREE, "lobby", "hi").status, 402)
  t.eq(t.get(BASE .. "/rooms/lobby/messages", { as = FREE }).status, 402)
  t.eq(t.get(BASE .. "/rooms/lobby/events", { as = FREE }).status, 402)
end)

t.test("sets a nickname: 422 for bad ones, 409 when taken", function()
  subscribe(U1, "basic")
  local res = t.put(BASE .. "/nickname", { json = { nickname = "alice" }, as = U1 })
  t.eq(res.status, 200)
  t.eq(res.json, { user_id = "u1", nickname = "alice" })
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = "alice" }, as = U1 }).status, 200)
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = "a" }, as = U1 }).status, 422)
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = "has space" }, as = U1 }).status, 422)
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = 7 }, as = U1 }).status, 422)
  t.eq(t.put(BASE .. "/nickname", { json = {}, as = U1 }).status, 422)
  subscribe(U2, "pro")
  res = t.put(BASE .. "/nickname", { json = { nickname = "alice" }, as = U2 })
  t.eq(res.status, 409)
  t.eq(res.json.error, "nickname taken")
  t.eq(t.put(BASE .. "/nickname", { json = { nickname = "bob" }, as = U2 }).status, 200)
end)

t.test("creates a room (the creator owns it), 409 on a taken slug, 422 on bad input", function()
  local res = t.post(BASE .. "/rooms", { json = { slug = "tea", title = "Tea talk" }, as = U1 })
  t.eq(res.status, 201)
  t.eq(res.json.slug, "tea")
  t.eq(res.json.role, "owner")
  t.eq(res.json.read_only, false)
  t.eq(res.json.created_by, "u1")
  t.eq(t.post(BASE .. "/rooms", { json = { slug = "tea", title = "Again" }, as = U2 }).status, 409)
  t.eq(t.post(BASE .. "/rooms", { json = { slug = "Bad Slug", title = "x" }, as = U1 }).status, 422)
  t.eq(t.post(BASE .. "/rooms", { json = { slug = "ok", title = "  " }, as = U1 }).status, 422)
  t.eq(t.post(BASE .. "/rooms", { json = { title = "no slug" }, as = U1 }).status, 422)
  res = t.get(BASE .. "/rooms", { as = U1 })
  t.eq(res.status, 200)
  t.eq(#res.json.rooms, 1)
  t.eq(res.json.rooms[1].slug, "tea")
  t.eq(t.get(BASE .. "/rooms", { as = U2 }).json.rooms, {})
end)

t.test("joins, posts and reads; non-members get 403", function()
  t.eq(t.post(BASE .. "/rooms/nowhere/join", { as = U2 }).status, 404)
  t.eq(say(U2, "tea", "let me in").status, 403)
  t.eq(t.get(BASE .. "/rooms/tea/messages", { as = U2 }).status, 403)
  t.eq(t.get(BASE .. "/rooms/tea/events", { as = U2 }).status, 403)
  t.eq(say(U1, "nowhere", "hi").status, 404)

  local res = t.post(BASE .. "/rooms/tea/join", { as = U2 })
  t.eq(res.status, 201)
  t.eq(res.json.role, "member")
  t.eq(t.post(BASE .. "/rooms/tea/join", { as = U2 }).status, 200)
  t.eq(t.get(BASE .. "/rooms", { as = U2 }).json.rooms[1].slug, "tea")

  res = say(U2, "tea", "hello from bob")
  t.eq(res.status, 201)
  t.eq(res.json.user_id, "u2")
  t.eq(res.json.nickname, "bob")
  t.eq(res.json.body, "hello from bob")
  t.ok(type(res.json.id) == "number" and type(res.json.created_at) == "string", "id and created_at")

  t.eq(say(U1, "tea", "").status, 422)
  t.eq(say(U1, "tea", "   ").status, 422)
  t.eq(say(U1, "tea", string.rep("x", 2001)).status, 422)
  t.eq(say(U1, "tea", string.rep("é", 2000)).status, 201) -- characters, not bytes
  t.eq(t.post(BASE .. "/rooms/tea/messages", { json = { body = 5 }, as = U1 }).status, 422)

  -- a third subscriber, not a member
  subscribe(U3, "basic")
  t.eq(say(U3, "tea", "hi").status, 403)
  t.eq(t.get(BASE .. "/rooms/tea/events", { as = U3 }).status, 403)
end)

t.test("paginates newest first with a cursor", function()
  for i = 1, 5 do t.eq(say(U1, "tea", "m" .. i).status, 201) end
  local res = t.get(BASE .. "/rooms/tea/messages?limit=3", { as = U2 })
  t.eq(res.status, 200)
  t.eq(#res.json.messages, 3)
  t.eq(res.json.messages[1].body, "m5")
  t.eq(res.json.messages[3].body, "m3")
  t.eq(res.json.messages[1].nickname, "alice")
  t.eq(res.json.next, res.json.messages[3].id)

  res = t.get(BASE .. "/rooms/tea/messages?limit=3&before=" .. res.json.next, { as = U2 })
  t.eq(#res.json.messages, 3)
  t.eq(res.json.messages[1].body, "m2")
  t.eq(res.json.messages[2].body, "m1")
  t.eq(res.json.messages[3].user_id, "u1") -- the 2000-character message

  res = t.get(BASE .. "/rooms/tea/messages?limit=3&before=" .. res.json.next, { as = U2 })
  t.eq(#res.json.messages, 1)
  t.eq(res.json.messages[1].body, "hello from bob")
  t.eq(res.json.next, nil)

  t.eq(t.get(BASE .. "/rooms/tea/messages?limit=0", { as = U2 }).status, 422)
  t.eq(t.get(BASE .. "/rooms/tea/messages?before=x", { as = U2 }).status, 422)
end)

t.test("a cancelled subscription makes the member read-only; a new one makes them writable", function()
  t.eq(t.post(SUB .. "/cancel", { as = U2 }).status, 200)
  t.eq(say(U2, "tea", "still here?").status, 402) -- until the durable event reaches meinchat
  t.deliver()
  local res = say(U2, "tea", "still here?")
  t.eq(res.status, 403)
  t.eq(res.json.error, "read-only")
  t.eq(db.query_one("select read_only from meinchat_members where user_id = 'u2'").read_only, true)
  -- read-only members still read
  t.eq(t.get(BASE .. "/rooms/tea/messages", { as = U2 }).status, 200)
  t.eq(t.get(BASE .. "/rooms", { as = U2 }).json.rooms[1].read_only, true)
  -- others are unaffected
  t.eq(say(U1, "tea", "bye bob").status, 201)

  subscribe(U2, "pro")
  t.deliver()
  t.eq(say(U2, "tea", "back again").status, 201)
  t.eq(db.query_one("select read_only from meinchat_members where user_id = 'u2'").read_only, false)
end)

t.test("retention deletes messages older than retention_days", function()
  local vtime = require("vbwd.time")
  local room = db.query_one("select id from meinchat_rooms where slug = 'tea'").id
  local _, err = db.exec("insert into meinchat_messages (room_id, user_id, body, created_at)"
    .. " values ($1, 'u1', 'ancient', to_timestamp($2))", room, vtime.now() - 400 * 86400)
  t.eq(err, nil)
  local total = db.query_one("select count(*) as n from meinchat_messages").n
  t.eq(retention.run(365), 1)
  t.eq(db.query_one("select count(*) as n from meinchat_messages where body = 'ancient'").n, 0)
  t.eq(retention.run(365), 0)
  -- a year and a day later (the test clock), everything else is past retention
  t.time.set(vtime.now() + 366 * 86400)
  t.eq(retention.run(365), total - 1)
end)
