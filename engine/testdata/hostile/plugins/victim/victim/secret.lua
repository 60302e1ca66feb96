return "victim-module-secret"
