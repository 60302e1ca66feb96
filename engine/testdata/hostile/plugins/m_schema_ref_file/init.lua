-- A schema that points the validator at a file outside the plugin.
return { name = "m_schema_ref_file", version = "1.0.0" }
