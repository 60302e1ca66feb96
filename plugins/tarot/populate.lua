-- The deck (tarot.deck) into tarot_cards. Create-only and idempotent: a card
-- whose slug exists is left as it is, so running this twice changes nothing.
local db = require("vbwd.db")
local deck = require("tarot.deck")

return function(ctx)
  local name = ctx.config and ctx.config.deck or "rider-waite"
  local cards = deck.cards(name)
  db.tx(function(tx)
    for _, c in ipairs(cards) do
      local _, err = tx.exec("insert into tarot_cards (slug, name, arcana, suit, number) values ($1, $2, $3, $4, $5)"
        .. " on conflict (slug) do nothing", c.slug, c.name, c.arcana, c.suit or db.null, c.number)
      if err then error(tostring(err)) end
    end
  end)
  require("vbwd.log").info("tarot deck ready", { plugin = ctx.plugin, deck = name, cards = #cards })
end
