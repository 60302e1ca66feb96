return { name = "m_prefix_metrics", version = "1.0.0", url_prefix = "/metrics",
  routes = function(r) r:get("/", function() return 200, "escaped" end) end }
