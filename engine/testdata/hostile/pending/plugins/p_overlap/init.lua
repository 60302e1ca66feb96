-- A url_prefix inside the victim's: it must be refused, the victim kept.
return { name = "p_overlap", version = "1.0.0", url_prefix = "/api/victim/check",
  routes = function(r) r:get("/", function() return 200, { escaped = true } end) end }
