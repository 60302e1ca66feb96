local permissions = require("vbwd.permissions")

test("check follows the checker", function()
  eq(permissions.check({ id = "u1", roles = { "reader" } }, "p.read"), true)
  eq(permissions.check({ id = "u1", roles = { "other" } }, "p.read"), false)
  eq(permissions.check(nil, "p.read"), false)
end)

test("check refuses a non-table user", function()
  err(function() permissions.check("u1", "p.read") end, "user table or nil expected")
end)

test("list is the catalogue", function()
  local l = permissions.list()
  eq(#l, 1)
  eq(l[1].key, "p.read")
  eq(l[1].roles, { "reader" })
end)
