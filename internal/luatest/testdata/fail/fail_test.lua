test("eq", function()
  eq({ a = 1 }, { a = 2 }, "values")
end)

test("ok", function()
  ok(nil, "present")
end)

test("raise", function()
  local t = nil
  return t.field
end)

test("err without error", function()
  err(function() end)
end)

test("passes", function() end)
