-- Demo data: the room "lobby" created by the user "demo", with the demo user as
-- its owner and a welcome message. Create-only and idempotent: when the room
-- exists nothing is touched (an operator may have edited it).
local db = require("vbwd.db")
local vtime = require("vbwd.time")

return function(ctx)
  db.tx(function(tx)
    local now = vtime.now()
    local room, err = tx.query_one(
      "insert into meinchat_rooms (slug, title, created_by, created_at) values ('lobby', 'Lobby', 'demo',"
      .. " to_timestamp($1)) on conflict (slug) do nothing returning id", now)
    if err then error(tostring(err)) end
    if not room then return end
    local steps = {
      { "insert into meinchat_nicknames (user_id, nickname) values ('demo', 'demo') on conflict do nothing" },
      { "insert into meinchat_members (room_id, user_id, role, joined_at) values ($1, 'demo', 'owner',"
        .. " to_timestamp($2)) on conflict do nothing", room.id, now },
      { "insert into meinchat_messages (room_id, user_id, body, created_at) values ($1, 'demo', $2,"
        .. " to_timestamp($3))", room.id, "Welcome to meinchat! Say hello.", now },
    }
    for _, s in ipairs(steps) do
      local _, e = tx.exec(unpack(s))
      if e then error(tostring(e)) end
    end
  end)
  require("vbwd.log").info("meinchat demo data ready", { plugin = ctx.plugin })
end
