-- The engine's own config key.
return { name = "vbwd", version = "1.0.0" }
