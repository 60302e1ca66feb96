return { name = "m_prefix_crlf", version = "1.0.0", url_prefix = "/api/x\r\nX-Evil: 1",
  routes = function(r) r:get("/", function() return 200, "escaped" end) end }
