return { name = "m_config_deep", version = "1.0.0" }
