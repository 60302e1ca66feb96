package registry

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The registrations on_enable(ctx) makes besides routes (the ctx table
// itself is engine/gen's registry.go).

// Registration kinds.
const (
	KindRoute      = "route"
	KindEvent      = "event"
	KindService    = "service"
	KindPermission = "permission"
	KindExchanger  = "exchanger"
	KindJob        = "job" // ctx:every
)

var (
	// DottedName is the shape of event, service, permission, job and
	// exchanger names: <plugin>.<name>[.<more>].
	DottedName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_*]+)+$`)
	roleName   = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

// TableKeys lists a table's string keys, sorted: a service's methods.
func TableKeys(t *lua.LTable) string {
	var keys []string
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			keys = append(keys, string(s))
		}
	})
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// KindVerb is the ctx method that registers kind.
func KindVerb(kind string) string {
	switch kind {
	case KindEvent:
		return "on"
	case KindService:
		return "provide"
	case KindJob:
		return "every"
	}
	return kind
}

// PermissionFromSpec reads ctx:permission(key, spec); a bad role raises
// at the call.
func PermissionFromSpec(L *lua.LState, plugin, key string, spec *lua.LTable) PermissionDecl {
	d := PermissionDecl{Key: key, Plugin: plugin, Roles: []string{}}
	if s, ok := spec.RawGetString("description").(lua.LString); ok {
		d.Description = string(s)
	}
	if roles, ok := spec.RawGetString("roles").(*lua.LTable); ok {
		for i := 1; i <= roles.Len(); i++ {
			r, ok := roles.RawGetInt(i).(lua.LString)
			if !ok || !roleName.MatchString(string(r)) {
				L.ArgError(3, fmt.Sprintf("roles[%d] must be a role name", i))
			}
			d.Roles = append(d.Roles, string(r))
		}
	}
	sort.Strings(d.Roles)
	return d
}
