package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vperm "github.com/vbwd-platform/vbwd-engine/stdlib/permissions"
)

// SuperAdminRole has every permission a plugin declares; it holds none of
// the engine's admin.* permissions unless config.json grants them.
const SuperAdminRole = "super_admin"

// grants maps a role to the permission patterns it holds: exact keys,
// "prefix.*" and "*".
type grants map[string][]string

// buildGrants derives role grants from the serving plugins' permission
// declarations, then applies the root config.json overrides.
func buildGrants(decls map[string]PermissionDecl, overrides map[string]any) (grants, error) {
	g := grants{}
	for key, d := range decls {
		for _, r := range d.Roles {
			g[r] = append(g[r], key)
		}
	}
	roles, _ := overrides["roles"].(map[string]any)
	for role, v := range roles {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("config.json: vbwd.roles.%s must be a list of permissions", role)
		}
		g[role] = g[role][:0:0]
		for _, p := range list {
			s, ok := p.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("config.json: vbwd.roles.%s must hold permission strings", role)
			}
			g[role] = append(g[role], s)
		}
	}
	for r := range g {
		sort.Strings(g[r])
	}
	return g, nil
}

// allows reports whether a user holds permission key.
func (g grants) allows(u *hostapi.User, key string) bool {
	if u == nil {
		return false
	}
	for _, role := range u.Roles {
		if role == SuperAdminRole {
			return true
		}
		for _, p := range g[role] {
			if matchPermission(p, key) {
				return true
			}
		}
	}
	return false
}

// engineGrants keeps the roles the root config.json sets (vbwd.roles): only
// they can hold the engine's admin.* permissions, so no plugin declaration
// makes an application role an engine administrator.
func engineGrants(all grants, overrides map[string]any) grants {
	roles, _ := overrides["roles"].(map[string]any)
	g := grants{}
	for role := range roles {
		for _, p := range all[role] {
			if p == "admin" || strings.HasPrefix(p, "admin.") {
				g[role] = append(g[role], p)
			}
		}
	}
	return g
}

// any reports whether some role holds an admin permission.
func (g grants) any() bool {
	for _, ps := range g {
		if len(ps) > 0 {
			return true
		}
	}
	return false
}

// allowsAdmin reports whether u's roles hold the engine permission key. A
// granted key holds the keys under it ("admin.plugins" holds
// "admin.plugins.read"); "prefix.*" works as elsewhere. No role is special.
func (g grants) allowsAdmin(u *hostapi.User, key string) bool {
	if u == nil {
		return false
	}
	for _, role := range u.Roles {
		for _, p := range g[role] {
			if matchPermission(p, key) || strings.HasPrefix(key, p+".") {
				return true
			}
		}
	}
	return false
}

// matchPermission matches an exact key, "*", or "prefix.*".
func matchPermission(pattern, key string) bool {
	switch {
	case pattern == "*" || pattern == key:
		return true
	case strings.HasSuffix(pattern, ".*"):
		return strings.HasPrefix(key, strings.TrimSuffix(pattern, "*"))
	}
	return false
}

// Check reports whether user holds permission key under the current grants.
func (e *Engine) Check(u *hostapi.User, key string) bool {
	return e.index.Load().grants.allows(u, key)
}

// Permissions lists the serving plugins' permission catalogue, by key.
func (e *Engine) Permissions() []PermissionDecl {
	ix := e.index.Load()
	out := make([]PermissionDecl, 0, len(ix.permissions))
	for _, d := range ix.permissions {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// permChecker adapts the engine to vbwd.permissions.
type permChecker struct{ e *Engine }

func (c permChecker) Check(u *hostapi.User, key string) bool { return c.e.Check(u, key) }

func (c permChecker) Catalogue() []vperm.Decl {
	decls := c.e.Permissions()
	out := make([]vperm.Decl, len(decls))
	for i, d := range decls {
		out[i] = vperm.Decl{Key: d.Key, Plugin: d.Plugin, Description: d.Description, Roles: d.Roles}
	}
	return out
}
