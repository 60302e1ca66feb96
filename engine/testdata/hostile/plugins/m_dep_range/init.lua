return { name = "m_dep_range", version = "1.0.0", dependencies = { "victim@>>>1" } }
