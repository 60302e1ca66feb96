-- Its config.json has a stray } after the value: refused like any bad JSON.
return { name = "p_config_trailing", version = "1.0.0" }
