// Package registry holds what the serving plugins register with the
// engine: routes(r) recorded per state (Recorder, Route, the route
// options), the permission catalogue and the role grants derived from it.
// The ctx table of on_enable and the index of the serving generations'
// registrations are engine/gen's.
package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// SuperAdminRole has every permission a plugin declares; it holds none of
// the engine's admin.* permissions unless config.json Grants them.
const SuperAdminRole = "super_admin"

// PermissionDecl is a permission a plugin declares.
type PermissionDecl struct {
	Key         string   `json:"key"`
	Plugin      string   `json:"plugin"`
	Description string   `json:"description"`
	Roles       []string `json:"roles"`
}

// Grants maps a role to the permission patterns it holds: exact keys,
// "prefix.*" and "*".
type Grants map[string][]string

// BuildGrants derives role Grants from the serving plugins' permission
// declarations, then applies the root config.json overrides.
func BuildGrants(decls map[string]PermissionDecl, overrides map[string]any) (Grants, error) {
	g := Grants{}
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

// Allows reports whether a user holds permission key.
func (g Grants) Allows(u *hostapi.User, key string) bool {
	if u == nil {
		return false
	}
	for _, role := range u.Roles {
		if role == SuperAdminRole {
			return true
		}
		for _, p := range g[role] {
			if MatchPermission(p, key) {
				return true
			}
		}
	}
	return false
}

// EngineGrants keeps the roles the root config.json sets (vbwd.roles): only
// they can hold the engine's admin.* permissions, so no plugin declaration
// makes an application role an engine administrator.
func EngineGrants(all Grants, overrides map[string]any) Grants {
	roles, _ := overrides["roles"].(map[string]any)
	g := Grants{}
	for role := range roles {
		for _, p := range all[role] {
			if p == "admin" || strings.HasPrefix(p, "admin.") {
				g[role] = append(g[role], p)
			}
		}
	}
	return g
}

// Any reports whether some role holds an admin permission.
func (g Grants) Any() bool {
	for _, ps := range g {
		if len(ps) > 0 {
			return true
		}
	}
	return false
}

// AllowsAdmin reports whether u's roles hold the engine permission key. A
// granted key holds the keys under it ("admin.plugins" holds
// "admin.plugins.read"); "prefix.*" works as elsewhere. No role is special.
func (g Grants) AllowsAdmin(u *hostapi.User, key string) bool {
	if u == nil {
		return false
	}
	for _, role := range u.Roles {
		for _, p := range g[role] {
			if MatchPermission(p, key) || strings.HasPrefix(key, p+".") {
				return true
			}
		}
	}
	return false
}

// MatchPermission matches an exact key, "*", or "prefix.*".
func MatchPermission(pattern, key string) bool {
	switch {
	case pattern == "*" || pattern == key:
		return true
	case strings.HasSuffix(pattern, ".*"):
		return strings.HasPrefix(key, strings.TrimSuffix(pattern, "*"))
	}
	return false
}
