return { name = "M_Upper", version = "1.0.0" }
