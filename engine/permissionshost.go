package engine

import (
	"sort"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vperm "github.com/vbwd-platform/vbwd-engine/stdlib/permissions"
)

// The permission catalogue and the role grants live in engine/registry;
// the engine answers vbwd.permissions and Check from its current index.

// Check reports whether user holds permission key under the current grants.
func (e *Engine) Check(u *hostapi.User, key string) bool {
	return e.index.Load().Grants.Allows(u, key)
}

// Permissions lists the serving plugins' permission catalogue, by key.
func (e *Engine) Permissions() []PermissionDecl {
	ix := e.index.Load()
	out := make([]PermissionDecl, 0, len(ix.Permissions))
	for _, d := range ix.Permissions {
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
