package permissions

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// Decl is a permission a plugin declares.
type Decl struct {
	Key         string
	Plugin      string
	Description string
	Roles       []string
}

// Checker answers permission questions; the engine implements it over the
// serving plugins' declarations and the role grants.
type Checker interface {
	Check(u *hostapi.User, key string) bool
	Catalogue() []Decl
}

// Module is the vbwd.permissions module.
type Module struct{ c Checker }

// New returns the module over c (nil: every check is false, the catalogue
// empty).
func New(c Checker) *Module { return &Module{c: c} }

// Name returns "permissions".
func (m *Module) Name() string { return "permissions" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 2), map[string]lua.LGFunction{
		"check": m.check,
		"list":  m.list,
	}))
	return 1
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "check", Sig: "check(user: table?, key: string): boolean",
			Doc: "whether user (req.user, or any table with roles) holds permission key; false for nil"},
		{Name: "list", Sig: "list(): table",
			Doc: "the permission catalogue of the enabled plugins: {key, plugin, description, roles} sorted by key"},
	}
}

func (m *Module) check(L *lua.LState) int {
	key := L.CheckString(2)
	var u *hostapi.User
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		u = &hostapi.User{}
		if id, ok := v.RawGetString("id").(lua.LString); ok {
			u.ID = string(id)
		}
		if roles, ok := v.RawGetString("roles").(*lua.LTable); ok {
			for i := 1; i <= roles.Len(); i++ {
				if r, ok := roles.RawGetInt(i).(lua.LString); ok {
					u.Roles = append(u.Roles, string(r))
				}
			}
		}
	default:
		L.ArgError(1, "user table or nil expected")
	}
	L.Push(lua.LBool(m.c != nil && u != nil && m.c.Check(u, key)))
	return 1
}

func (m *Module) list(L *lua.LState) int {
	out := luaconv.MarkArray(L.NewTable())
	if m.c != nil {
		for _, d := range m.c.Catalogue() {
			roles := make([]any, len(d.Roles))
			for i, r := range d.Roles {
				roles[i] = r
			}
			out.Append(luaconv.FromGo(L, map[string]any{"key": d.Key, "plugin": d.Plugin,
				"description": d.Description, "roles": roles}))
		}
	}
	L.Push(out)
	return 1
}
