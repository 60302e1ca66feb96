return { name = "m_dep_missing", version = "1.0.0", dependencies = { "not_installed" } }
