return { name = "m_version_bad", version = "1.0" }
