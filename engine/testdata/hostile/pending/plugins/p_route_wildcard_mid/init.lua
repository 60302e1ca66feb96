return { name = "p_route_wildcard_mid", version = "1.0.0", url_prefix = "/api/p_route_wildcard_mid",
  routes = function(r) r:get("/*/x", function() return 200 end) end }
