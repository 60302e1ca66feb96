-- Its migration drops another plugin's table.
return { name = "p_migration_drop", version = "1.0.0", dependencies = { "p_owner" } }
