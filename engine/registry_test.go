package engine

import (
	"strings"
	"testing"
)

func TestRegistry_OnEnableRegistrations(t *testing.T) {
	root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", `
function P.on_enable(ctx)
  ctx:permission("p.read", { description = "Read things", roles = { "subscriber", "admin" } })
  ctx:on("other.happened", function(ev) end)
  ctx:provide("p.service", { hello = function() return "hi" end })
  ctx:exchanger({ key = "p.items", natural_key = "slug", formats = { "json" },
    export = function() return {} end, import = function() return {} end })
end`)})
	te := startEngine(t, root, func(o *Options) { o.PoolMin = 3 })
	st := te.status(t, "p")
	if st.State != StateEnabled {
		t.Fatalf("%s %s", st.State, st.Error)
	}
	got := strings.Join([]string{strings.Join(st.Permissions, ","), strings.Join(st.Events, ","),
		strings.Join(st.Services, ","), strings.Join(st.Exchangers, ",")}, " ")
	if got != "p.read other.happened p.service p.items" {
		t.Errorf("registrations: %s", got)
	}
	ix := te.index.Load()
	if d := ix.Permissions["p.read"]; d.Description != "Read things" || strings.Join(d.Roles, ",") != "admin,subscriber" {
		t.Errorf("permission decl: %+v", d)
	}
	if len(ix.Events["other.happened"]) != 1 || ix.Services["p.service"].Gen == nil {
		t.Errorf("index: %+v", ix)
	}
}

func TestRegistry_Refusals(t *testing.T) {
	for name, body := range map[string]string{
		"foreign service":          `ctx:provide("other.svc", {})`,
		"foreign permission":       `ctx:permission("other.read", {})`,
		"bad event name":           `ctx:on("nodot", function() end)`,
		"duplicate":                `ctx:on("a.b", function() end); ctx:on("a.b", function() end)`,
		"dot call":                 `ctx.on("a.b", function() end)`,
		"exchanger without export": `ctx:exchanger({ key = "p.x", natural_key = "id", formats = { "json" }, import = print })`,
	} {
		t.Run(name, func(t *testing.T) {
			root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", "function P.on_enable(ctx)\n  "+body+"\nend")})
			te := startEngine(t, root, nil)
			if st := te.status(t, "p"); st.State != StateFailed || st.ErrorLine != 3 {
				t.Errorf("%s %s:%d %s", st.State, st.ErrorFile, st.ErrorLine, st.Error)
			}
		})
	}
}
