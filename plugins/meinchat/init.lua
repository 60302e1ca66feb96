-- meinchat: chat rooms for subscribers whose plan has the "meinchat" feature.
-- Nicknames, rooms, membership, messages with cursor pagination, direct
-- messages between two users, a per-user send rate limit, live updates over
-- server-sent events (vbwd.stream), read-only members after a cancelled or
-- expired subscription, and a retention job (ctx:every).
local di = require("vbwd.di")
local log = require("vbwd.log")
local stream = require("vbwd.stream")
local db = require("vbwd.db")
local crypto = require("vbwd.crypto")
local vtime = require("vbwd.time")
local chat = require("meinchat.chat")
local dm = require("meinchat.dm")
local retention = require("meinchat.retention")

local P = {
  name = "meinchat",
  version = "1.0.0",
  description = "Chat rooms for subscribers, with live updates over server-sent events",
  author = "vbwd",
  dependencies = { "subscription@^1.0" },
  url_prefix = "/api/v1/meinchat",
}

local NEED_PLAN = "meinchat requires a plan with chat"
local DEFAULT_PAGE, MAX_PAGE, REPLAY = 50, 100, 20

local config

function P.initialize(cfg)
  config = cfg
end

-- user_of: every route is registered with auth = true, so the engine has
-- already answered 401 to a caller without a valid token.
local function user_of(req)
  return req.user.id
end

-- entitled: the caller's active plan has features.meinchat == true
-- (feature() is nil without an active subscription; is_active is asked too).
local function entitled(uid)
  local subs, err = di.get("subscription.service")
  if not subs then error("subscription.service: " .. tostring(err)) end
  return subs.feature(uid, "meinchat") == true and subs.is_active(uid) == true
end

local function require_plan(uid)
  if not entitled(uid) then error({ status = 402, message = NEED_PLAN }) end
end

local function channel(slug)
  return "meinchat.room." .. slug
end

-- room_access: 401 without a token; a read-only member may read (and gets 403
-- "read-only" on writes) whatever the plan; everyone else needs the plan (402),
-- an existing room (404) and a membership (403).
local function room_access(req, write)
  local uid = user_of(req)
  local room, member = chat.room_and_member(req.params.slug, uid)
  if member and member.read_only then
    if write then error({ status = 403, message = "read-only" }) end
    return uid, room, member
  end
  require_plan(uid)
  if not room then error({ status = 404, message = "no such room" }) end
  if not member then error({ status = 403, message = "members only" }) end
  return uid, room, member
end

local function text_length(s)
  return select(2, s:gsub("[^\128-\191]", ""))
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function as_event(m)
  return { event = "message", id = tostring(m.id), data = m }
end

-- dm_channel: a user's direct-message stream (user ids may hold any character)
local function dm_channel(uid)
  return "meinchat.dm." .. crypto.sha256(uid):sub(1, 40)
end

local function message_body(req)
  local body = req:json()
  local text = type(body) == "table" and body.body
  if type(text) ~= "string" or trim(text) == "" then
    error({ status = 422, message = "body must be a non-empty string", field = "body" })
  end
  local max = config.max_message_length or 2000
  if text_length(text) > max then
    error({ status = 422, message = "body is longer than " .. max .. " characters", field = "body" })
  end
  return text
end

-- limited runs send(tx, now) unless the user has sent send_rate_limit
-- messages (rooms and direct) in the last send_rate_window_seconds: then it
-- returns the seconds to wait. A per-user advisory lock makes concurrent
-- sends count each other, on every engine sharing the database.
local function limited(uid, send)
  local now = vtime.now()
  return db.tx(function(tx)
    dm.lock_sender(tx, uid)
    local wait = dm.rate(tx, uid, config.send_rate_limit or 20, config.send_rate_window_seconds or 60, now)
    if wait then return wait end
    return nil, send(tx, now)
  end)
end

local function too_fast(wait)
  return 429, { error = "sending too fast: at most " .. (config.send_rate_limit or 20) .. " messages per "
    .. (config.send_rate_window_seconds or 60) .. " seconds", retry_after = wait }, { ["Retry-After"] = tostring(wait) }
end

local function cursor_params(req)
  local before, limit = req.query.before, req.query.limit
  if before ~= nil then
    before = tonumber(before)
    if not before or before < 1 or before % 1 ~= 0 then
      error({ status = 422, message = "before must be a message id", field = "before" })
    end
  end
  if limit ~= nil then
    limit = tonumber(limit)
    if not limit or limit < 1 or limit % 1 ~= 0 then
      error({ status = 422, message = "limit must be a positive integer", field = "limit" })
    end
    limit = math.min(limit, MAX_PAGE)
  end
  return before, limit or DEFAULT_PAGE
end

-- counterpart: the user a /dm/{nickname} route addresses (404 unknown, 422 oneself)
local function counterpart(req, uid)
  local other = dm.user_of_nickname(req.params.nickname)
  if not other then error({ status = 404, message = "no user with this nickname" }) end
  if other == uid then error({ status = 422, message = "that is your own nickname", field = "nickname" }) end
  return other
end

function P.on_enable(ctx)
  local function read_only(flag)
    return function(event)
      local uid = event.payload and event.payload.user_id
      if type(uid) ~= "string" then return end
      chat.set_read_only(uid, flag)
    end
  end
  ctx:on("subscription.cancelled", read_only(true))
  ctx:on("subscription.expired", read_only(true))
  ctx:on("subscription.activated", read_only(false))

  local cfg = ctx.config or config
  ctx:every("meinchat.retention", cfg.retention_check_seconds or 3600, function()
    local n = retention.run(cfg.retention_days or 365)
    if n > 0 then log.info("meinchat messages past retention deleted", { count = n }) end
  end)
end

function P.routes(r)
  local AUTH = { auth = true } -- 401 without a valid token, before the handler runs
  r:put("/nickname", AUTH, function(req)
    local uid = user_of(req)
    require_plan(uid)
    local body = req:json()
    local nick = type(body) == "table" and body.nickname
    if type(nick) ~= "string" or not nick:match("^[%w_%-]+$") or #nick < 2 or #nick > 32 then
      error({ status = 422, message = "nickname must be 2 to 32 letters, digits, _ or -", field = "nickname" })
    end
    return 200, chat.set_nickname(uid, nick)
  end)

  r:post("/rooms", AUTH, function(req)
    local uid = user_of(req)
    require_plan(uid)
    local body = req:json()
    if type(body) ~= "table" then error({ status = 422, message = "a JSON object is required" }) end
    local slug, title = body.slug, body.title
    if type(slug) ~= "string" or #slug > 64 or not slug:match("^[a-z0-9][a-z0-9%-]*$") then
      error({ status = 422, message = "slug must be 1 to 64 of a-z, 0-9 and -", field = "slug" })
    end
    title = type(title) == "string" and trim(title) or ""
    if title == "" or text_length(title) > 200 then
      error({ status = 422, message = "title must be 1 to 200 characters", field = "title" })
    end
    local room = chat.create_room(slug, title, uid)
    room.id = nil
    return 201, room, { Location = "/api/v1/meinchat/rooms/" .. slug }
  end)

  -- the rooms the caller is in (a caller without the plan sees only the rooms where they are read-only)
  r:get("/rooms", AUTH, function(req)
    local uid = user_of(req)
    if entitled(uid) then return 200, { rooms = chat.rooms_of(uid, false) } end
    local rooms = chat.rooms_of(uid, true)
    if #rooms == 0 then error({ status = 402, message = NEED_PLAN }) end
    return 200, { rooms = rooms }
  end)

  r:post("/rooms/{slug}/join", AUTH, function(req)
    local uid = user_of(req)
    require_plan(uid)
    local room = chat.room_and_member(req.params.slug, uid)
    if not room then error({ status = 404, message = "no such room" }) end
    local m, created = chat.join(room, uid)
    return created and 201 or 200, { slug = room.slug, title = room.title, role = m.role,
      read_only = m.read_only, joined_at = m.joined_at }
  end)

  r:post("/rooms/{slug}/messages", AUTH, function(req)
    local uid, room = room_access(req, true)
    local text = message_body(req)
    local wait, msg = limited(uid, function() return chat.post(room, uid, text) end)
    if wait then return too_fast(wait) end
    local ok, err = stream.publish(channel(room.slug), msg, "message", tostring(msg.id))
    if not ok then log.warn("meinchat: stream publish failed", { room = room.slug, error = tostring(err) }) end
    return 201, msg
  end)

  -- direct messages, addressed by nickname
  r:get("/dm", AUTH, function(req)
    local uid = user_of(req)
    require_plan(uid)
    return 200, { conversations = dm.conversations(uid) }
  end)

  -- live direct messages to the caller: the last REPLAY received, then new ones
  r:get("/dm/events", { stream = true, auth = true }, function(req)
    local uid = user_of(req)
    require_plan(uid)
    local msgs = dm.received(uid, REPLAY)
    local events = {}
    for i = #msgs, 1, -1 do events[#events + 1] = as_event(msgs[i]) end
    return { channel = dm_channel(uid), events = events }
  end)

  r:post("/dm/{nickname}", AUTH, function(req)
    local uid = user_of(req)
    require_plan(uid)
    local other = counterpart(req, uid)
    local text = message_body(req)
    local wait, msg = limited(uid, function(tx, now) return dm.send(tx, uid, other, text, now) end)
    if wait then return too_fast(wait) end
    local ok, err = stream.publish(dm_channel(other), msg, "message", tostring(msg.id))
    if not ok then log.warn("meinchat: dm stream publish failed", { error = tostring(err) }) end
    return 201, msg
  end)

  -- GET /dm/{nickname}?before=&limit=: the conversation, newest first; marks it read
  r:get("/dm/{nickname}", AUTH, function(req)
    local uid = user_of(req)
    require_plan(uid)
    local other = counterpart(req, uid)
    local before, limit = cursor_params(req)
    local rows, next_cursor = dm.conversation(uid, other, before, limit)
    return 200, { messages = rows, next = next_cursor }
  end)

  -- GET /rooms/{slug}/messages?before=<id>&limit=<n>: newest first, next = the cursor of the next page
  r:get("/rooms/{slug}/messages", AUTH, function(req)
    local _, room = room_access(req, false)
    local before, limit = cursor_params(req)
    local rows, next_cursor = chat.page(room, before, limit)
    return 200, { messages = rows, next = next_cursor }
  end)

  -- live updates: the last REPLAY messages (oldest first), then what POST .../messages publishes
  r:get("/rooms/{slug}/events", { stream = true, auth = true }, function(req)
    local _, room = room_access(req, false)
    local rows = chat.page(room, nil, REPLAY)
    local events = {}
    for i = #rows, 1, -1 do events[#events + 1] = as_event(rows[i]) end
    return { channel = channel(room.slug), events = events }
  end)
end

return P
