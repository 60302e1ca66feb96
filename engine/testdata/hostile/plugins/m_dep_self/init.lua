return { name = "m_dep_self", version = "1.0.0", dependencies = { "m_dep_self" } }
