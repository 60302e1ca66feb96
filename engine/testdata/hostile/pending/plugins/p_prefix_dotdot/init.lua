return { name = "p_prefix_dotdot", version = "1.0.0", url_prefix = "/api/../victim",
  routes = function(r) r:get("/check", function() return 200, { escaped = true } end) end }
