-- chi panics on this pattern; today that fails the whole router (every
-- plugin down) instead of this plugin alone.
return { name = "p_route_dup_param", version = "1.0.0", url_prefix = "/api/p_route_dup_param",
  routes = function(r) r:get("/{a}/{a}", function() return 200 end) end }
