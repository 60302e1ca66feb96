-- tarot (guide example): manifest, registrations, a service call, the database.
local shared = require("vbwd.shared")
local readings = require("tarot.readings")

local P = {
  name = "tarot",                          -- required, equals the directory name: [a-z][a-z0-9_]*
  version = "1.0.0",                       -- required, semver (26.6.1 is fine)
  description = "Daily tarot readings",
  author = "you",
  dependencies = { "subscription@^1.0" },  -- "name" or "name@<range>": ^1.0, ~1.2.3, >=26.7, 1.x || 2.x
  url_prefix = "/api/v1/tarot",            -- required when the plugin has routes
}

local CARDS = { "The Fool", "The Magician", "The High Priestess", "The Empress" }

local function export_cards(q)
  local rows = {}
  for i = q.offset + 1, math.min(#CARDS, q.offset + q.limit) do rows[#rows + 1] = { slug = "card-" .. i, name = CARDS[i] } end
  return rows
end

local function import_cards(rows)
  return { created = 0, updated = 0, skipped = #rows, errors = {} }
end

function P.on_enable(ctx)
  ctx:permission("tarot.read", { description = "Draw the daily card", roles = { "subscriber" } })
  ctx:on("subscription.activated", function(event) shared.set("welcome:" .. event.payload.user_id, event.id) end)   -- event handler
  ctx:provide("tarot.deck", { draw = function(n) return CARDS[((n - 1) % #CARDS) + 1] end })    -- a service for plugins depending on tarot
  ctx:exchanger({ key = "tarot.cards", natural_key = "slug", formats = { "json" }, export = export_cards, import = import_cards })  -- import/export of an entity
end

function P.routes(r)
  r:get("/daily", { permission = "tarot.read" }, function(req)
    -- tarot (dependencies = {"subscription@^1.0"}), in a handler:
    local subs = require("vbwd.di").get("subscription.service")
    if not subs.is_active(req.user.id) then error({ status = 402, message = "subscription required" }) end
    local reading = readings.save(req.user.id, CARDS[1])
    return 200, { card = reading.card, welcome = shared.get("welcome:" .. req.user.id) ~= nil }
  end)

  r:get("/readings", { permission = "tarot.read" }, function(req)
    return 200, { readings = readings.list(req.user.id, 20) }
  end)
end

return P
