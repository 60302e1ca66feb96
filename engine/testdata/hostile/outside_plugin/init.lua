return { name = "linked_dir", version = "1.0.0", url_prefix = "/api/linked_dir",
  routes = function(r) r:get("/x", function() return 200, "escaped" end) end }
