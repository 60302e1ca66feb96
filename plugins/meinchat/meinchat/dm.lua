-- meinchat.dm: direct messages between two users (addressed by nickname),
-- conversations, read marks, and the per-user send rate limit shared with
-- room messages. Timestamps come from vbwd.time (to_timestamp($n)).
local db = require("vbwd.db")
local json = require("vbwd.json")
local vtime = require("vbwd.time")

local M = {}

local COLUMNS = "m.id, m.sender, sn.nickname as sender_nickname, m.recipient, rn.nickname as recipient_nickname,"
  .. " m.body, m.created_at, m.read_at"
local FROM = " from meinchat_direct_messages m left join meinchat_nicknames sn on sn.user_id = m.sender"
  .. " left join meinchat_nicknames rn on rn.user_id = m.recipient"

local function check(row, err)
  if err then error(tostring(err)) end
  return row
end

-- user_of_nickname(nick) -> the user id holding the nickname, or nil
function M.user_of_nickname(nick)
  local row = check(db.query_one("select user_id from meinchat_nicknames where nickname = $1", nick))
  return row and row.user_id or nil
end

-- rate(q, user_id, limit, window, now) -> nil when the user may send, else
-- the seconds until the oldest counted message leaves the window. Counts the
-- user's room messages and direct messages of the last window seconds; the
-- caller holds lock_sender, so concurrent sends of one user count each other.
function M.rate(q, user_id, limit, window, now)
  local row = check(q.query_one("select count(*) as n, extract(epoch from min(t))::float8 as oldest from ("
    .. " select created_at as t from meinchat_messages where user_id = $1 and created_at > to_timestamp($2)"
    .. " union all select created_at from meinchat_direct_messages where sender = $1 and created_at > to_timestamp($2)"
    .. ") s", user_id, now - window))
  if row.n < limit then return nil end
  return math.max(1, math.ceil(row.oldest + window - now))
end

-- lock_sender serialises one user's sends for the caller's transaction.
function M.lock_sender(tx, user_id)
  check(tx.query_one("select pg_advisory_xact_lock(hashtext('meinchat.send:' || $1))", user_id))
end

-- send(tx, from, to, body, now) -> the message
function M.send(tx, from, to, body, now)
  local row = check(tx.query_one("insert into meinchat_direct_messages (sender, recipient, body, created_at)"
    .. " values ($1, $2, $3, to_timestamp($4)) returning id", from, to, body, now))
  return check(tx.query_one("select " .. COLUMNS .. FROM .. " where m.id = $1", row.id))
end

-- conversation(me, other, before, limit) -> messages newest first, next
-- cursor; marks the messages to me as read.
function M.conversation(me, other, before, limit)
  local sql = "select " .. COLUMNS .. FROM .. " where least(m.sender, m.recipient) = least($1, $2)"
    .. " and greatest(m.sender, m.recipient) = greatest($1, $2)"
  local rows
  if before then
    rows = check(db.query(sql .. " and m.id < $3 order by m.id desc limit $4", me, other, before, limit + 1))
  else
    rows = check(db.query(sql .. " order by m.id desc limit $3", me, other, limit + 1))
  end
  local next_cursor
  if #rows > limit then
    rows[#rows] = nil
    next_cursor = rows[#rows].id
  end
  check(db.exec("update meinchat_direct_messages set read_at = to_timestamp($3) where recipient = $1"
    .. " and sender = $2 and read_at is null", me, other, vtime.now()))
  return json.array(rows), next_cursor
end

-- received(me, n) -> the last n direct messages to me, newest first
function M.received(me, n)
  return check(db.query("select " .. COLUMNS .. FROM .. " where m.recipient = $1 order by m.id desc limit $2", me, n))
end

-- conversations(me) -> one entry per counterpart: the last message and the unread count
function M.conversations(me)
  local rows = check(db.query(
    "with mine as (select case when sender = $1 then recipient else sender end as other, id, read_at, recipient"
    .. " from meinchat_direct_messages where sender = $1 or recipient = $1),"
    .. " agg as (select other, max(id) as last_id,"
    .. " count(*) filter (where recipient = $1 and read_at is null) as unread from mine group by other)"
    .. " select agg.other, n.nickname, agg.unread, " .. COLUMNS .. " from agg"
    .. " join meinchat_direct_messages m on m.id = agg.last_id"
    .. " left join meinchat_nicknames n on n.user_id = agg.other"
    .. " left join meinchat_nicknames sn on sn.user_id = m.sender"
    .. " left join meinchat_nicknames rn on rn.user_id = m.recipient order by m.id desc limit 200", me))
  local out = json.array()
  for i, r in ipairs(rows) do
    out[i] = { with = { user_id = r.other, nickname = r.nickname }, unread = r.unread,
      last = { id = r.id, sender = r.sender, sender_nickname = r.sender_nickname, recipient = r.recipient,
        recipient_nickname = r.recipient_nickname, body = r.body, created_at = r.created_at, read_at = r.read_at } }
  end
  return out
end

return M
