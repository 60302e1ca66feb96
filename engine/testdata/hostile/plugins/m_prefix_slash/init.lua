-- Takes the whole URL space.
return { name = "m_prefix_slash", version = "1.0.0", url_prefix = "/",
  routes = function(r) r:get("/*", function() return 200, "escaped" end) end }
