local t = require("vbwd.test")

t.test("an order is posted to the webhook", function()
  t.http.stub("POST", "https://hooks.example.com/orders", { status = 204 })
  local res = t.post("/api/v1/webhook/orders", { json = { item = "tea" } })
  t.eq(res.status, 202)
  t.eq(#t.http.calls(), 0)                 -- delivery is asynchronous: nothing sent yet
  t.deliver()                              -- runs the pending delivery to completion
  local calls = t.http.calls()
  t.eq(#calls, 1)
  t.eq(calls[1].json.payload, { item = "tea" })
  t.eq(calls[1].json.id, res.json.event_id)
end)

t.test("a failing webhook is retried when due", function()
  t.time.set("2026-12-01T10:00:00Z")
  t.http.stub("POST", "https://hooks.example.com/*", { status = 503 })
  t.post("/api/v1/webhook/orders", { json = { item = "cake" } })
  t.deliver()                              -- attempt 1 fails
  t.deliver()                              -- the retry is not due yet
  t.eq(#t.http.calls(), 1)
  t.http.stub("POST", "https://hooks.example.com/*", { status = 200 })
  t.time.advance(60)                       -- past the backoff: the retry is delivered
  local calls = t.http.calls()
  t.eq(#calls, 2)
  t.eq(calls[2].headers["x-webhook-attempt"], "2")
end)

t.test("other hosts are refused", function()
  t.config({ url = "https://elsewhere.example.org/in" })  -- http.allow is still hooks.example.com
  t.post("/api/v1/webhook/orders", { json = { item = "pie" } })
  t.deliver()
  t.eq(#t.http.calls(), 0)                 -- refused before any request
end)
