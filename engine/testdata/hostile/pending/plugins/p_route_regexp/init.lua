return { name = "p_route_regexp", version = "1.0.0", url_prefix = "/api/p_route_regexp",
  routes = function(r) r:get("/{id:[}", function() return 200 end) end }
