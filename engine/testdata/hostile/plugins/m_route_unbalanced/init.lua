return { name = "m_route_unbalanced", version = "1.0.0", url_prefix = "/api/m_route_unbalanced",
  routes = function(r) r:get("/{x", function() return 200 end) end }
