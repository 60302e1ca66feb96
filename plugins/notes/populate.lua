-- Demo notes. Create-only and idempotent: a note whose slug exists is left as
-- it is (an operator may have edited it), so running this twice changes nothing.
local db = require("vbwd.db")

local demo = {
  { slug = "welcome", title = "Welcome to vbwd", body = "Every feature is a Lua plugin.",
    tags = { "intro" }, pinned = true },
  { slug = "migrations", title = "Migrations", body = "plugins/<name>/migrations/*.sql, applied on enable.",
    tags = { "howto", "database" } },
  { slug = "populate", title = "Demo data", body = "populate.lua returns function(ctx) and must be idempotent.",
    tags = { "howto" } },
}

return function(ctx)
  for _, n in ipairs(demo) do
    local _, err = db.exec(
      "insert into notes_notes (slug, title, body, tags, pinned) values ($1, $2, $3, $4, $5)"
      .. " on conflict (slug) do nothing",
      n.slug, n.title, n.body, n.tags, n.pinned or false)
    if err then error(tostring(err)) end
  end
  require("vbwd.log").info("notes demo data ready", { plugin = ctx.plugin })
end
