return "outside the plugin"
