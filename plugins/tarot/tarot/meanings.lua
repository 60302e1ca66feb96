-- tarot.meanings: a short meaning of every card of the rider-waite deck,
-- upright and reversed, written for this project. Keyed by slug.
local M = {}

local MAJOR = {
  ["the-fool"] = { "A leap into the new, trusting the road", "Recklessness; a jump taken without looking" },
  ["the-magician"] = { "Skill and will aligned: you have the tools", "Talent scattered, or used to mislead" },
  ["the-high-priestess"] = { "Quiet knowing; listen beneath the surface",
    "Ignoring your intuition; secrets kept too long" },
  ["the-empress"] = { "Abundance, care and growth that takes its time", "Smothering, or neglecting what you nurture" },
  ["the-emperor"] = { "Structure and steady leadership", "Rigidity; control held too tightly" },
  ["the-hierophant"] = { "Tradition, teachers and shared rules", "Questioning convention; finding your own way" },
  ["the-lovers"] = { "A choice of the heart; values in harmony", "Disharmony, or a choice avoided" },
  ["the-chariot"] = { "Drive and focus carry you forward", "Pulled in two directions; momentum lost" },
  ["strength"] = { "Gentle courage; patience tames the storm", "Self-doubt, or force where kindness would do" },
  ["the-hermit"] = { "Step back and seek your own light", "Isolation that no longer serves you" },
  ["wheel-of-fortune"] = { "A turn of luck; cycles move on", "Resisting change; a run of bad timing" },
  ["justice"] = { "Fairness, truth and the weight of choices", "Imbalance; avoiding accountability" },
  ["the-hanged-man"] = { "Pause and see it from another angle", "Stalling; a sacrifice that leads nowhere" },
  ["death"] = { "An ending that clears space for the new", "Clinging to what has already ended" },
  ["temperance"] = { "Balance, moderation and patient blending", "Excess; things out of proportion" },
  ["the-devil"] = { "A tie that binds: habit, desire, fear", "Breaking free of what held you" },
  ["the-tower"] = { "Sudden upheaval reveals the truth", "Disaster narrowly avoided, or change delayed" },
  ["the-star"] = { "Hope and renewal after the storm", "Discouragement; faith running low" },
  ["the-moon"] = { "Uncertainty; not all is as it seems", "Confusion lifting; fears faced" },
  ["the-sun"] = { "Joy, clarity and success", "A cloud over good news; joy postponed" },
  ["judgement"] = { "A calling; reckoning and rebirth", "Self-judgement; a call ignored" },
  ["the-world"] = { "Completion; a cycle fulfilled", "Loose ends; almost there but not quite" },
}

-- the minor arcana: {upright, reversed} per rank of each suit
local MINOR = {
  wands = {
    "A spark of inspiration; a bold start", "Delays; the spark will not catch",
    "Planning the next move; a wider view", "Fear of the unknown keeps you home",
    "Expansion; your ships are coming in", "Obstacles slow the venture",
    "Celebration and a stable home", "Tension at home; a welcome that is lacking",
    "Friendly rivalry; many voices at once", "Conflict avoided, or turned petty",
    "Recognition and a public win", "Pride before a fall; credit withheld",
    "Hold your ground; defend what is yours", "Overwhelmed; giving up the high ground",
    "Swift action; news on the way", "Haste and scattered energy",
    "Resilience; the last stand before the end", "Exhaustion; defences worn thin",
    "Burdens carried too far alone", "Letting go of what is not yours to carry",
    "Eager news of a new adventure", "Ideas without follow-through",
    "Passion and daring on the move", "Impulsiveness; plans left behind",
    "Warmth, confidence and determination", "Jealousy or a short temper",
    "A visionary who leads by example", "Overbearing; vision without patience",
  },
  cups = {
    "An open heart; new feelings", "Emotions held back or spilled",
    "A bond between equals", "Imbalance in a partnership",
    "Friendship and celebration", "Too much of a good time",
    "Apathy; blind to what is offered", "Renewed interest; accepting the gift",
    "Grief over what was lost", "Acceptance; turning to what remains",
    "Nostalgia and innocent kindness", "Stuck in the past",
    "Many choices, some of them illusions", "Clarity; the fog of wishes clears",
    "Walking away to seek something deeper", "Fear of moving on",
    "Contentment; a wish granted", "Smugness; a wish that disappoints",
    "Harmony and happiness at home", "Family tension; broken harmony",
    "A gentle message of feeling", "Emotional immaturity",
    "Romance and an offer from the heart", "Moodiness; promises not kept",
    "Compassion and emotional wisdom", "Insecurity; giving too much",
    "Calm mastery of feeling", "Emotional manipulation or coldness",
  },
  swords = {
    "A breakthrough of clarity", "Confusion; a truth misused",
    "A stalemate; a hard choice avoided", "Information finally breaks the deadlock",
    "Heartbreak and painful truth", "Healing; letting the hurt go",
    "Rest and recovery", "Restlessness; burnout looming",
    "A win at a cost to others", "Making amends after conflict",
    "Moving on to calmer waters", "Unfinished business follows you",
    "Strategy or deception", "Coming clean; a plan exposed",
    "Feeling trapped by your own thoughts", "Release; seeing the way out",
    "Anxiety in the small hours", "Hope returns; fears lose their grip",
    "A painful ending; rock bottom", "Recovery; the worst has passed",
    "Curiosity and sharp new ideas", "Gossip; words without thought",
    "Charging ahead with conviction", "Recklessness; words that wound",
    "Clear boundaries and honest words", "Cold judgement; bitterness",
    "Authority through truth and reason", "Harshness; power misused",
  },
  pentacles = {
    "A new opportunity to prosper", "A chance missed; poor planning",
    "Juggling priorities with skill", "Overcommitted; balls dropped",
    "Teamwork and craft", "Working alone; effort unseen",
    "Holding on to security", "Greed, or letting go of control",
    "Hard times; left out in the cold", "Recovery; help arrives",
    "Generosity; giving and receiving", "Strings attached; unequal giving",
    "Patience; the harvest is growing", "Impatience with slow returns",
    "Diligent practice and mastery", "Perfectionism; work without care",
    "Self-sufficiency and earned comfort", "Over-reliance on work or wealth",
    "Lasting wealth and family legacy", "Instability in family or finances",
    "A study, an offer, a practical start", "Lack of progress; plans unfinished",
    "Steady, reliable effort", "Stagnation; routine without reward",
    "Practical care and a generous home", "Neglecting yourself for others",
    "Security and abundance well managed", "Stubbornness; clinging to wealth",
  },
}

local RANKS = { "ace", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
  "page", "knight", "queen", "king" }

local ALL = {}
for slug, m in pairs(MAJOR) do ALL[slug] = { upright = m[1], reversed = m[2] } end
for suit, list in pairs(MINOR) do
  for i, rank in ipairs(RANKS) do
    ALL[rank .. "-of-" .. suit] = { upright = list[2 * i - 1], reversed = list[2 * i] }
  end
end

-- of(slug) -> {upright, reversed}, or nil for an unknown card
function M.of(slug)
  local m = ALL[slug]
  if not m then return nil end
  return { upright = m.upright, reversed = m.reversed }
end

return M
