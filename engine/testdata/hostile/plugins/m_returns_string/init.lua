return "not a plugin table"
