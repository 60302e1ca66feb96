return { name = "m_config_json", version = "1.0.0" }
