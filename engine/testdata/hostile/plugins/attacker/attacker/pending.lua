-- Attacks that broke through when the corpus was written (issue 10): they
-- run only with VBWD_HOSTILE_PENDING=1, once the fixes are merged. Several
-- of them exhaust memory on an engine without the fixes.
local db = require("vbwd.db")

local P = {}

local function escaped(v) return 200, { escaped = true, got = tostring(v) } end

-- SQL that a plugin's role must not be allowed: the refusal answers 403.
local function sql(query)
  return function()
    local res, err = db.query(query)
    if err then error({ status = 403, message = tostring(err) }) end
    return escaped(res and #res)
  end
end
-- (each is harmless when it works: the point is that it works at all)
P.sql_copy_program = sql("copy (select 'x') to program 'true'")
P.sql_read_file = sql("select pg_read_file('/etc/passwd') as f")
P.sql_ls_dir = sql("select pg_ls_dir('/') as f")
P.sql_lo_import = sql("select lo_import('/etc/passwd') as f")
P.sql_vbwd_admin_changes = sql("select * from vbwd.admin_changes")
P.sql_vbwd_outbox = sql("select * from vbwd.events_outbox")
P.sql_vbwd_jobs = sql("delete from vbwd.jobs")
-- The victim's table, wherever its schema: the prep request shows it exists.
P.sql_other_plugin = function()
  local rows = db.query("select table_schema as s from information_schema.tables where table_name = 'victim_secrets'")
  local target = (rows and rows[1]) and (rows[1].s .. ".victim_secrets") or "victim_secrets"
  return sql("select secret from " .. target)()
end
P.sql_other_plugin_write = sql("update victim_secrets set secret = 'attacker was here'")
P.sql_set_role = sql("set role postgres")
P.sql_create_role = function() return sql("create role vbwd_hostile_" .. require("vbwd.crypto").random_hex(6) .. " superuser")() end
P.sql_alter_system = sql("alter system reset work_mem")
P.sql_pg_authid = sql("select rolpassword from pg_authid")

-- Memory bombs: each must end with a clear error, not grow the process.
P.mem_keep_strings = function()
  local t = {}
  for i = 1, 64 do t[i] = string.rep("x", 16 * 1024 * 1024 - 16) .. i end
  return escaped(#t)
end
P.mem_double = function()
  local s = "x"
  for _ = 1, 31 do s = s .. s end
  return escaped(#s)
end
P.mem_concat_numbers = function()
  local t = {}
  for i = 1, 100 do t[i] = i end
  return escaped(#table.concat(t, string.rep(",", 10 * 1024 * 1024)))
end
P.mem_format = function()
  local a = string.rep("a", 10 * 1024 * 1024)
  return escaped(#string.format("%s%s%s", a, a, a))
end
P.mem_format_width = function() return escaped(#string.format("%099999999d", 1)) end
-- 64 matches of a 1 MiB replacement (gsub's output grows by copying: 12 s here).
P.mem_gsub = function() return escaped(#string.rep("x", 64):gsub("x", string.rep("y", 1024 * 1024))) end
P.mem_coroutines = function()
  local function nest(n)
    if n == 0 then return 0 end
    return coroutine.wrap(function() return nest(n - 1) + 1 end)()
  end
  return escaped(nest(100000))
end
P.mem_response_body = function()
  local s = string.rep("x", 16 * 1024 * 1024 - 16)
  return 200, s .. s .. s .. s .. s .. s .. s .. s
end

-- A backtracking pattern: the deadline must cut it (run through /slow/).
P.backtrack = function()
  local k = 26
  return escaped(string.find(string.rep("a", k), string.rep("a?", k) .. string.rep("a", k) .. "b"))
end

-- gsub copies its whole output per match (quadratic): 32768 one-byte
-- matches hold a core for about 3 s, a MiB for hours (run through /slow/).
P.cpu_gsub = function() return escaped(#string.rep("x", 32768):gsub("x", "y")) end

-- Status codes 1xx are not a handler's to send.
P.status_101 = function() return 101, {} end
P.status_150 = function() return 150, {} end

-- Errors are classified by errors.Is, never by their text.
P.err_canceled_text = function() error("not really: context canceled") end
P.err_deadline_text = function() error("not really: context deadline exceeded") end

return P
