return { name = "p_overlap_b", version = "1.0.0", url_prefix = "/api/p_overlap_a/inner",
  routes = function(r) r:get("/x", function() return 200, { plugin = "b" } end) end }
