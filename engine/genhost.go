package engine

import (
	"context"

	"github.com/vbwd-platform/vbwd-engine/engine/gen"
)

// Plugin generations, their states, the on_enable ctx and the registrations
// index live in engine/gen. The engine builds generations with
// engine/builder, and keeps the names its own code uses.

type (
	regRef        = gen.Ref   // a registration as engine/bus and engine/jobs see it
	registryIndex = gen.Index // of a snapshot's serving generations
)

// buildIndex indexes the serving generations' registrations (gen.BuildIndex).
func buildIndex(gens []*Generation, roleOverrides map[string]any) (*registryIndex, error) {
	return gen.BuildIndex(gens, roleOverrides)
}

// Populate runs plugins/<name>/populate.lua — which returns function(ctx) —
// for the named enabled plugins (every enabled plugin when none is named),
// in dependency order, in one state of each plugin's pool. Demo data must be
// idempotent: running it twice changes nothing the second time. It returns
// the plugins whose populate ran.
func (e *Engine) Populate(ctx context.Context, names ...string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.plugins.Populate(ctx, e.log, names...)
}
