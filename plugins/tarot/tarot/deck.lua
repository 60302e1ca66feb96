-- tarot.deck: the card data, as a Lua module (the sandbox has no file I/O).
-- deck.cards(name) returns the 78 cards of a deck in canonical order:
-- {slug, name, arcana = "major"|"minor", suit = nil|"wands"|..., number}.
local M = {}

local MAJOR = {
  "The Fool", "The Magician", "The High Priestess", "The Empress", "The Emperor", "The Hierophant",
  "The Lovers", "The Chariot", "Strength", "The Hermit", "Wheel of Fortune", "Justice",
  "The Hanged Man", "Death", "Temperance", "The Devil", "The Tower", "The Star", "The Moon",
  "The Sun", "Judgement", "The World",
}
local SUITS = { "Wands", "Cups", "Swords", "Pentacles" }
local RANKS = {
  "Ace", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
  "Page", "Knight", "Queen", "King",
}

local function slugify(s)
  return (s:lower():gsub("[^a-z0-9]+", "-"))
end

local function rider_waite()
  local cards = {}
  for i, name in ipairs(MAJOR) do
    cards[#cards + 1] = { slug = slugify(name), name = name, arcana = "major", number = i - 1 }
  end
  for _, suit in ipairs(SUITS) do
    for n, rank in ipairs(RANKS) do
      local name = rank .. " of " .. suit
      cards[#cards + 1] = { slug = slugify(name), name = name, arcana = "minor", suit = suit:lower(), number = n }
    end
  end
  return cards
end

M.DECKS = { ["rider-waite"] = rider_waite }

function M.cards(deck)
  local build = M.DECKS[deck or "rider-waite"]
  if not build then error("unknown deck: " .. tostring(deck)) end
  return build()
end

return M
