-- meinchat.retention: deletes messages older than retention_days. The cut-off
-- comes from vbwd.time.now() (the test clock in tests), passed as to_timestamp($1).
local db = require("vbwd.db")
local vtime = require("vbwd.time")

local M = {}

-- run(days, now?) -> the number of messages deleted
function M.run(days, now)
  local cutoff = (now or vtime.now()) - days * 86400
  local n, err = db.exec("delete from meinchat_messages where created_at < to_timestamp($1)", cutoff)
  if err then error(tostring(err)) end
  return n
end

return M
