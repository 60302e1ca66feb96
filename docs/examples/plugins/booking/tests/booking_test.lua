local t = require("vbwd.test")

local BASE = "/api/v1/booking"

t.test("a valid booking reaches the handler", function()
  local res = t.post(BASE .. "/bookings", { json = { room = "blue", from = "2026-12-24", nights = 2 } })
  t.eq(res.status, 201)
  t.eq(res.json.nights, 2)
end)

t.test("a body failing the schema answers 422 with pointers", function()
  local res = t.post(BASE .. "/bookings", { json = { room = "", from = "24.12.2026", nights = 0, pets = true } })
  t.eq(res.status, 422)
  t.eq(res.json.error, "invalid request")
  local pointers = {}
  for _, f in ipairs(res.json.fields) do
    pointers[#pointers + 1] = f.pointer
    t.eq(f["in"], "body")
    t.ok(f.message ~= "", "a message for " .. f.pointer)
  end
  t.eq(pointers, { "", "/from", "/nights", "/room" }) -- "" is the whole body: pets is not allowed
  res = t.post(BASE .. "/bookings", { json = { room = "blue" } })
  t.eq(res.json.fields, {
    { pointer = "/from", message = "is required", ["in"] = "body" },
    { pointer = "/nights", message = "is required", ["in"] = "body" },
  })
  t.eq(t.post(BASE .. "/bookings", { body = "{oops" }).status, 422, "malformed JSON")
end)

t.test("the query string is validated with types", function()
  t.eq(t.get(BASE .. "/rooms?limit=20&floor=1&floor=2").json.limit, 20)
  local res = t.get(BASE .. "/rooms?limit=0&floor=x")
  t.eq(res.status, 422)
  t.eq(res.json.fields[1].pointer, "/floor/0")
  t.eq(res.json.fields[2].pointer, "/limit")
  t.eq(res.json.fields[2]["in"], "query")
end)

t.test("a handler's own 422 has the same shape", function()
  local res = t.post(BASE .. "/bookings/7/cancel", { json = {} })
  t.eq(res.status, 422)
  t.eq(res.json.error, "invalid request")
  t.eq(res.json.fields, { { pointer = "/reason", message = "is required" } })
end)
