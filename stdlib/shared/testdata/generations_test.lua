-- Two module instances on one bucket, as two generations of a plugin during
-- a reload: "vbwd.shared" and "vbwd.shared_next" (see module_test.go).
local old = require("vbwd.shared")
local new = require("vbwd.shared_next")
local other = require("vbwd.shared_other")

test("generations of a plugin share the bucket", function()
  old.set("counter", 41)
  eq(new.incr("counter"), 42)
  eq(old.get("counter"), 42)
end)

test("plugins do not share buckets", function()
  old.set("private", "mine")
  eq(other.get("private"), nil)
  eq(other.keys(), {})
end)
