return { name = "m_schema_violation", version = "1.0.0" }
