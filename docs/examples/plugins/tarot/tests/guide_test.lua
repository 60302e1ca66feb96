local t = require("vbwd.test")

t.test("draws today's card for a subscriber", function()
  local res = t.get("/api/v1/tarot/daily", { as = { id = "u1", roles = { "subscriber" } } })
  t.eq(res.status, 402)                                   -- not subscribed yet
  t.eq(t.post("/api/v1/subscription/activate", { as = { id = "u1" } }).status, 200)
  t.expect_event("subscription.activated")
  res = t.get("/api/v1/tarot/daily", { as = { id = "u1", roles = { "subscriber" } } })
  t.eq(res.json, { card = "The Fool", welcome = true })
end)

t.test("needs a subscriber", function()
  t.eq(t.get("/api/v1/tarot/daily").status, 401)
  local res = t.get("/api/v1/tarot/daily", { as = { id = "u2", roles = { "visitor" } } })
  t.ok(res.status == 403, "refused")
end)
