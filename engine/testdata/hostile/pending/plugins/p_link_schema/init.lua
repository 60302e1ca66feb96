-- Its admin-config.json is a symlink to the root config.json: the engine
-- reads a file outside the plugin as the schema (and, for a file that is
-- not JSON, says what its first byte is).
return { name = "p_link_schema", version = "1.0.0" }
