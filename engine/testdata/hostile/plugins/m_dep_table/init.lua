return { name = "m_dep_table", version = "1.0.0", dependencies = { { "victim" } } }
