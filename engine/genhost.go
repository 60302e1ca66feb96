package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vbwd-platform/vbwd-engine/engine/gen"
)

// Plugin generations, their states, the on_enable ctx and the registrations
// index live in engine/gen. The engine builds a generation's Env (newEnv,
// engine.go) and Limits, and keeps the names its own code uses.

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
	want := map[string]bool{}
	for _, n := range names {
		p, ok := e.plugins[n]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownPlugin, n)
		}
		if p.State != StateEnabled {
			return nil, fmt.Errorf("%w: %s is %s", ErrNotEnabled, n, p.State)
		}
		want[n] = true
	}
	var ran []string
	for _, n := range e.plugins.EnabledOrder() {
		p := e.plugins[n]
		if len(want) > 0 && !want[n] {
			continue
		}
		file := filepath.Join(p.Src.Dir, "populate.lua")
		if _, err := os.Stat(file); err != nil {
			continue
		}
		if err := p.Gen.Populate(ctx, file); err != nil {
			return ran, err
		}
		e.log.Info("populated", "plugin", n)
		ran = append(ran, n)
	}
	return ran, nil
}
