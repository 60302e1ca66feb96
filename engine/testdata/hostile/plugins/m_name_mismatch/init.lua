-- Claims to be the victim.
return { name = "victim", version = "9.9.9", url_prefix = "/api/m_name_mismatch" }
