-- meinchat.chat: the data layer (nicknames, rooms, members, messages). Every
-- timestamp it writes comes from vbwd.time.now() (to_timestamp($n)), so the
-- test clock and the retention job agree with it.
local db = require("vbwd.db")
local json = require("vbwd.json")
local vtime = require("vbwd.time")

local M = {}

local MESSAGE_COLUMNS = "m.id, m.user_id, n.nickname, m.body, m.created_at"

-- fail turns a database error into a response: 409 for the known unique
-- constraints, 500 (logged with the SQLSTATE) for anything else.
function M.fail(err)
  if err.code == "23505" then
    if err.constraint == "meinchat_nicknames_nickname_key" then
      error({ status = 409, message = "nickname taken" })
    elseif err.constraint == "meinchat_rooms_slug_key" then
      error({ status = 409, message = "a room with this slug already exists" })
    end
  end
  error(tostring(err))
end

local function check(row, err)
  if err then M.fail(err) end
  return row
end

function M.set_nickname(user_id, nickname)
  return check(db.query_one(
    "insert into meinchat_nicknames (user_id, nickname, updated_at) values ($1, $2, to_timestamp($3))"
    .. " on conflict (user_id) do update set nickname = excluded.nickname, updated_at = excluded.updated_at"
    .. " returning user_id, nickname", user_id, nickname, vtime.now()))
end

-- room_and_member(slug, user_id) -> room or nil, membership or nil
function M.room_and_member(slug, user_id)
  local row = check(db.query_one(
    "select r.id, r.slug, r.title, r.created_by, r.created_at, mb.role, mb.read_only, mb.joined_at"
    .. " from meinchat_rooms r left join meinchat_members mb on mb.room_id = r.id and mb.user_id = $2"
    .. " where r.slug = $1", slug, user_id))
  if not row then return nil, nil end
  local room = { id = row.id, slug = row.slug, title = row.title, created_by = row.created_by,
    created_at = row.created_at }
  if row.role == nil then return room, nil end
  return room, { role = row.role, read_only = row.read_only, joined_at = row.joined_at }
end

function M.create_room(slug, title, user_id)
  return db.tx(function(tx)
    local now = vtime.now()
    local room = check(tx.query_one(
      "insert into meinchat_rooms (slug, title, created_by, created_at) values ($1, $2, $3, to_timestamp($4))"
      .. " returning id, slug, title, created_by, created_at", slug, title, user_id, now))
    local m = check(tx.query_one(
      "insert into meinchat_members (room_id, user_id, role, joined_at) values ($1, $2, 'owner', to_timestamp($3))"
      .. " returning role, read_only, joined_at", room.id, user_id, now))
    room.role, room.read_only, room.joined_at = m.role, m.read_only, m.joined_at
    return room
  end)
end

-- join(room, user_id) -> membership, created (an existing membership is kept as it is)
function M.join(room, user_id)
  local m = check(db.query_one(
    "insert into meinchat_members (room_id, user_id, role, joined_at) values ($1, $2, 'member', to_timestamp($3))"
    .. " on conflict (room_id, user_id) do nothing returning role, read_only, joined_at",
    room.id, user_id, vtime.now()))
  if m then return m, true end
  return check(db.query_one("select role, read_only, joined_at from meinchat_members"
    .. " where room_id = $1 and user_id = $2", room.id, user_id)), false
end

-- rooms_of(user_id, read_only_only) -> the rooms the user is a member of
function M.rooms_of(user_id, read_only_only)
  local sql = "select r.slug, r.title, r.created_by, r.created_at, mb.role, mb.read_only, mb.joined_at"
    .. " from meinchat_members mb join meinchat_rooms r on r.id = mb.room_id where mb.user_id = $1"
  if read_only_only then sql = sql .. " and mb.read_only" end
  return json.array(check(db.query(sql .. " order by r.slug", user_id)))
end

function M.post(room, user_id, body)
  return check(db.query_one(
    "with m as (insert into meinchat_messages (room_id, user_id, body, created_at)"
    .. " values ($1, $2, $3, to_timestamp($4)) returning *)"
    .. " select " .. MESSAGE_COLUMNS .. " from m left join meinchat_nicknames n on n.user_id = m.user_id",
    room.id, user_id, body, vtime.now()))
end

-- page(room, before, limit) -> up to limit messages with id < before (any when nil), newest first,
-- and the cursor of the next page (nil on the last one)
function M.page(room, before, limit)
  local sql = "select " .. MESSAGE_COLUMNS .. " from meinchat_messages m"
    .. " left join meinchat_nicknames n on n.user_id = m.user_id where m.room_id = $1"
  local rows
  if before then
    rows = check(db.query(sql .. " and m.id < $2 order by m.id desc limit $3", room.id, before, limit + 1))
  else
    rows = check(db.query(sql .. " order by m.id desc limit $2", room.id, limit + 1))
  end
  local next_cursor
  if #rows > limit then
    rows[#rows] = nil
    next_cursor = rows[#rows].id
  end
  return json.array(rows), next_cursor
end

-- set_read_only(user_id, flag) -> memberships changed
function M.set_read_only(user_id, flag)
  return check(db.exec("update meinchat_members set read_only = $2 where user_id = $1", user_id, flag))
end

return M
