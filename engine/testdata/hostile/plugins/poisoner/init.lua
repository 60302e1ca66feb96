-- Poisons what a Lua state shares between its requests: the string
-- metatable, the libraries, the globals and the host modules' tables. The
-- poison stays in the poisoner's own states (they are reused, so its own
-- later requests see it); the victim and healthy plugins must not.
local json = require("vbwd.json")
local shared = require("vbwd.shared")

local P = { name = "poisoner", version = "1.0.0", url_prefix = "/api/poisoner" }

local function pwned() return "PWNED" end

-- Each poison returns whether it took in this state (so a case cannot pass
-- because its poison did nothing).
local poisons = {
  string_mt = function()
    getmetatable("").__index = { upper = pwned }
    return ("abc"):upper() == "PWNED"
  end,
  string_mt_field = function()
    getmetatable("").__index.upper = pwned
    return ("abc"):upper() == "PWNED"
  end,
  string_lib = function() string.upper = pwned return string.upper("abc") == "PWNED" end,
  string_setmetatable = function()
    setmetatable("", { __index = { upper = pwned } })
    return ("abc"):upper() == "PWNED"
  end,
  string_mt_locked = function() getmetatable("").__metatable = "locked" return getmetatable("") == "locked" end,
  table_lib = function() table.concat = pwned return table.concat({}) == "PWNED" end,
  json_module = function() json.encode = pwned return require("vbwd.json").encode({}) == "PWNED" end,
  shared_value = function() shared.set("probe", "PWNED") return shared.get("probe") == "PWNED" end,
  shared_module = function() shared.get = pwned return require("vbwd.shared").get("x") == "PWNED" end,
  globals_mt = function()
    setmetatable(_G, { __index = pwned, __newindex = function() end })
    return no_such_global == "PWNED"
  end,
  rawset_require = function() rawset(_G, "require", pwned) return require("vbwd.json") == "PWNED" end,
  rawset_string = function() rawset(_G, "string", nil) return rawget(_G, "string") == nil end,
  rawset_type = function() rawset(_G, "type", pwned) return type(1) == "PWNED" end,
  -- the module cache: what require returns next in this state
  require_cache = function()
    local real = require
    rawset(_G, "require", function(name) if name == "vbwd.json" then return { encode = pwned } end return real(name) end)
    return require("vbwd.json").encode({}) == "PWNED"
  end,
}

function P.routes(r)
  r:get("/poison/{what}", function(req)
    local fn = poisons[req.params.what]
    if not fn then error({ status = 404, message = "no poison " .. req.params.what }) end
    return 200, { poisoned = req.params.what, took = fn() }
  end)
end

return P
