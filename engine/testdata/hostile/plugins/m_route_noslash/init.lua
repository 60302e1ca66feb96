return { name = "m_route_noslash", version = "1.0.0", url_prefix = "/api/m_route_noslash",
  routes = function(r) r:get("x", function() return 200 end) end }
