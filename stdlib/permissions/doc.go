// Package permissions is the vbwd.permissions host module: check(user, key)
// against the role grants the enabled plugins declared (ctx:permission),
// overridable in the root config.json, with "prefix.*" and "*" wildcards
// and the super_admin role holding every plugin permission (not the engine's
// admin.* ones, which only the root config.json grants); list() is the catalogue.
package permissions
