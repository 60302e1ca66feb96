return { name = "m_hook_type", version = "1.0.0", initialize = "os.execute('id')" }
