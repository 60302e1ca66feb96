-- meinchat: chat rooms for subscribers whose plan has the "meinchat" feature.
-- Nicknames, rooms, membership, messages with cursor pagination, live updates
-- over server-sent events (vbwd.stream), read-only members after a cancelled
-- or expired subscription, and a retention job (ctx:every).
local di = require("vbwd.di")
local log = require("vbwd.log")
local stream = require("vbwd.stream")
local chat = require("meinchat.chat")
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
    local body = req:json()
    local text = type(body) == "table" and body.body
    if type(text) ~= "string" or trim(text) == "" then
      error({ status = 422, message = "body must be a non-empty string", field = "body" })
    end
    local max = config.max_message_length or 2000
    if text_length(text) > max then
      error({ status = 422, message = "body is longer than " .. max .. " characters", field = "body" })
    end
    local msg = chat.post(room, uid, text)
    local ok, err = stream.publish(channel(room.slug), msg, "message", tostring(msg.id))
    if not ok then log.warn("meinchat: stream publish failed", { room = room.slug, error = tostring(err) }) end
    return 201, msg
  end)

  -- GET /rooms/{slug}/messages?before=<id>&limit=<n>: newest first, next = the cursor of the next page
  r:get("/rooms/{slug}/messages", AUTH, function(req)
    local _, room = room_access(req, false)
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
    local rows, next_cursor = chat.page(room, before, limit or DEFAULT_PAGE)
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
