-- A route that climbs out of its url_prefix into the victim's.
return { name = "p_route_dotdot", version = "1.0.0", url_prefix = "/api/p_route_dotdot",
  routes = function(r) r:get("/../../victim/check", function() return 200, { escaped = true } end) end }
