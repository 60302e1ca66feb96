-- Two plugins whose url_prefixes overlap: at start both are refused, each
-- naming the other (no load-order effect).
return { name = "p_overlap_a", version = "1.0.0", url_prefix = "/api/p_overlap_a",
  routes = function(r) r:get("/inner/x", function() return 200, { plugin = "a" } end) end }
