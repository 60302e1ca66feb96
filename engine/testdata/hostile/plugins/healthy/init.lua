-- The plugin that must keep answering whatever the others do. Its answer
-- also reads the state's own libraries, so poisoning that leaked from
-- another plugin would show here.
local json = require("vbwd.json")

local P = { name = "healthy", version = "1.0.0", url_prefix = "/api/healthy" }

function P.routes(r)
  r:get("/ping", function()
    return 200, {
      ok = true,
      upper = ("abc"):upper(),
      json = json.encode({ a = 1 }),
      concat = table.concat({ "x", "y" }, "-"),
      globals = type(string) .. type(require) .. type(setmetatable) .. type(getmetatable(_G)),
    }
  end)
end

return P
