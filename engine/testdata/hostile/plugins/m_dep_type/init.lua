return { name = "m_dep_type", version = "1.0.0", dependencies = "victim" }
