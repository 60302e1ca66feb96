-- Database calls run once per pooled state in on_enable: refused.
return { name = "m_build_db", version = "1.0.0",
  on_enable = function() require("vbwd.db").query("select 1") end }
