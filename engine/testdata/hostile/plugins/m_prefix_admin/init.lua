-- Mounts itself over the engine's admin API.
return { name = "m_prefix_admin", version = "1.0.0", url_prefix = "/admin/plugins",
  routes = function(r) r:get("/", function() return 200, { escaped = true } end) end }
