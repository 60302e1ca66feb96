-- A schema that would make the engine fetch a URL at load.
return { name = "m_schema_ref_http", version = "1.0.0" }
