return { name = "m_build_shared", version = "1.0.0",
  on_enable = function() require("vbwd.shared").set("k", "v") end }
