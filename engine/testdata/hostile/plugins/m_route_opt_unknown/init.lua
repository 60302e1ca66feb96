-- An option that would be a privilege if the engine read it.
return { name = "m_route_opt_unknown", version = "1.0.0", url_prefix = "/api/m_route_opt_unknown",
  routes = function(r) r:get("/x", { admin = true }, function() return 200 end) end }
