-- luacheck config for the shipped plugins (make lint).
-- Plugins run in a Lua 5.1 sandbox: base, table, string, math, coroutine;
-- the globals the sandbox removes are not allowed here either.
std = "lua51"
not_globals = {
  "dofile", "loadfile", "load", "loadstring", "module", "getfenv", "setfenv",
  "newproxy", "collectgarbage", "os", "io", "debug", "package",
}
max_line_length = 120
