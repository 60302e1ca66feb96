package pkgs

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/vbwd-platform/vbwd-engine/engine"
)

// Planner is the engine's package planner (engine.Options.Packages): the
// node taking an admin install, update or remove resolves it here, against
// its own root, plugins.lock and config.json.
type Planner struct {
	// HTTP fetches indexes and archives; nil: the default client.
	HTTP *http.Client
}

// PlanPackages implements engine.PackagePlanner.
func (p Planner) PlanPackages(ctx context.Context, root, action string, req engine.PackageRequest) (*engine.PackagePlan, error) {
	m, err := New(root, EngineInspector)
	if err != nil {
		return nil, err
	}
	m.HTTP = p.HTTP
	plan, err := m.Plan(ctx, Request{Action: action, Source: req.Source, Names: req.Names, Enable: req.Enable})
	if err != nil {
		return nil, err
	}
	lock, err := json.Marshal(plan.Lock)
	if err != nil {
		return nil, err
	}
	out := &engine.PackagePlan{Remove: plan.Remove, Lock: lock, Changes: plan.Changes}
	for _, a := range plan.Archives {
		out.Archives = append(out.Archives, engine.PackageArchive{Name: a.Name, Version: a.Version, SHA256: a.SHA256, Hash: a.Hash, Data: a.Data})
	}
	return out, nil
}
