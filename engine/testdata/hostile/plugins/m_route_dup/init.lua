return { name = "m_route_dup", version = "1.0.0", url_prefix = "/api/m_route_dup",
  routes = function(r) local h = function() return 200 end r:get("/x", h) r:get("/x", h) end }
