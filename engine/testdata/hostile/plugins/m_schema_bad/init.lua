return { name = "m_schema_bad", version = "1.0.0" }
