package records

import (
	"errors"
	"fmt"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
)

// Statuses returns the status of every record, by name.
func (s Set) Statuses() []admin.PluginStatus {
	out := make([]admin.PluginStatus, 0, len(s))
	for _, p := range s {
		out = append(out, s.statusOf(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Status returns the status of one plugin.
func (s Set) Status(name string) (admin.PluginStatus, bool) {
	p, ok := s[name]
	if !ok {
		return admin.PluginStatus{}, false
	}
	return s.statusOf(p), true
}

func (s Set) statusOf(p *Plugin) admin.PluginStatus {
	deps := s.Dependents(p.Name)
	st := admin.PluginStatus{Name: p.Name, State: p.State, Dependencies: []string{}, Dependents: deps}
	if st.Dependents == nil {
		st.Dependents = []string{}
	}
	if m := p.Manifest; m != nil {
		st.Version, st.Description, st.URLPrefix = m.Version, m.Description, m.URLPrefix
		for _, d := range m.Dependencies {
			st.Dependencies = append(st.Dependencies, d.String())
		}
	}
	if p.Src != nil {
		st.Hash = p.Src.Hash
	}
	if p.Err != nil {
		st.Error = p.Err.Error()
		var pe *errs.PluginError
		if errors.As(p.Err, &pe) {
			st.ErrorFile, st.ErrorLine = pe.File, pe.Line
		}
	}
	st.Outdated = p.Outdated && p.Gen != nil
	if g := p.Gen; g != nil {
		st.Generation, st.Routes, st.LoadedAt = g.Number, g.Routes(), g.LoadedAt
		ps := g.PoolStats()
		st.Pool = &ps
		for _, r := range g.Regs {
			switch r.Kind {
			case registry.KindPermission:
				st.Permissions = append(st.Permissions, r.Name)
			case registry.KindEvent:
				st.Events = append(st.Events, r.Name)
			case registry.KindService:
				st.Services = append(st.Services, r.Name)
			case registry.KindExchanger:
				st.Exchangers = append(st.Exchangers, r.Name)
			case registry.KindJob:
				st.Jobs = append(st.Jobs, r.Name)
			}
		}
	}
	return st
}

// Waiting says, for readiness, which wanted plugins are neither enabled nor
// explicitly failed.
func (s Set) Waiting() []string {
	var why []string
	for _, p := range s {
		if p.Wanted && p.State != admin.StateEnabled && p.State != admin.StateFailed {
			why = append(why, fmt.Sprintf("plugin %s is %s", p.Name, p.State))
		}
	}
	return why
}
