return { name = "m_build_publish", version = "1.0.0",
  on_enable = function() require("vbwd.events").publish("m_build_publish.x", {}) end }
