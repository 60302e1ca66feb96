return { name = "m_route_opt", version = "1.0.0", url_prefix = "/api/m_route_opt",
  routes = function(r) r:get("/x", { timeout = -1 }, function() return 200 end) end }
