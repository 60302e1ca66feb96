-- Owns a table that p_migration_drop's migration drops.
local db = require("vbwd.db")
return { name = "p_owner", version = "1.0.0", url_prefix = "/api/p_owner",
  routes = function(r)
    r:get("/count", function()
      local row = assert(db.query_one("select count(*) as n from p_owner_data"))
      return 200, { n = row.n }
    end)
  end }
