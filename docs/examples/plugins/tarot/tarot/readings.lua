-- tarot.readings: the guide's vbwd.db example, in use.
local M = {}

function M.save(user_id, card)
  local db = require("vbwd.db")
  local reading = db.tx(function(tx)                       -- commits on return, rolls back on error
    local row = tx.query_one("insert into tarot_readings (user_id, card) values ($1, $2) returning *", user_id, card)
    tx.tx(function(inner) inner.exec("update tarot_readings set seen = true where id = $1", row.id) end) -- a savepoint
    return row
  end)
  return reading
end

function M.list(user_id, limit)
  local db = require("vbwd.db")
  local rows, err = db.query("select id, card from tarot_readings where user_id = $1 order by id desc limit $2",
    user_id, limit)
  if err then error(tostring(err)) end
  local row = db.query_one("select * from tarot_readings where id = $1", rows[1] and rows[1].id or 0)    -- nil when no row
  local n = db.exec("delete from tarot_readings where user_id = $1 and not seen", user_id)  -- rows affected
  return rows, row, n
end

return M
