return { name = "m_version_type", version = 1 }
