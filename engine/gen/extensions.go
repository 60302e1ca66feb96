package gen

import (
	"github.com/vbwd-platform/vbwd-engine/engine/bus"
	vdi "github.com/vbwd-platform/vbwd-engine/stdlib/di"
)

// Extensions: a plugin may call the services of the plugins that declare a
// dependency on it, not only those it depends on. That is how a plugin
// defines a contract that others implement and picks one by a name from its
// config without depending on any of them: subscription calls
// "<payments.provider>.payments", provided by payments_fake or
// payments_stripe, which depend on subscription (docs/plugin-guide.md, "The
// payments contract"). Like any DI name it is resolved at call time, so the
// extension being reloaded, disabled or not yet enabled is an error of that
// call, not of the host.

// Extends reports whether g declares a dependency on plugin (g's plugin is
// one of plugin's extensions); false for a nil g (owner not serving).
func (g *Generation) Extends(plugin string) bool {
	if g == nil {
		return false
	}
	for _, d := range g.Manifest.Dependencies {
		if d.Name == plugin {
			return true
		}
	}
	return false
}

// BindServices tells every given generation's vbwd.di module which
// generation it belongs to, for that generation's manifest (dependencies).
// The engine calls it under its lock whenever the serving set changes.
func BindServices(gens []*Generation) {
	for _, g := range gens {
		if m, ok := g.Env.Modules["di"].(*vdi.Module); ok {
			if b, ok := m.Resolver().(*bus.Binding[Ref]); ok {
				b.Bind(g.Manifest)
			}
		}
	}
}
