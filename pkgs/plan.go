package pkgs

import (
	"context"
	"fmt"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// Request is an install, update or remove asked of a running engine (the
// admin API): planned on the node that takes it, applied by every node.
type Request struct {
	Action string   `json:"action"`           // install, update or remove
	Source string   `json:"source,omitempty"` // install: "<source>[@version]"; empty: reproduce plugins.lock
	Names  []string `json:"names,omitempty"`  // update: plugins (all when empty); remove: one
	Enable bool     `json:"enable,omitempty"` // install: enable what was installed
}

// PlannedArchive is one plugin a plan writes, packed (reproducibly) from
// the verified staged copy: every node unpacks the same bytes.
type PlannedArchive struct {
	Name, Version string
	SHA256        string // of Data
	Hash          string // content hash of the unpacked directory
	Data          []byte
}

// Plan is what a request changes, resolved and verified but not applied:
// archives to write (dependencies first), plugins to remove, and
// plugins.lock afterwards.
type Plan struct {
	Archives []PlannedArchive
	Remove   []string
	Lock     *LockFile
	Changes  []Change
}

// Plan resolves a request as Install, Update, Remove or Sync would, and
// returns the result instead of writing plugins/.
func (m *Manager) Plan(ctx context.Context, req Request) (*Plan, error) {
	t, err := m.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer t.abort()
	switch req.Action {
	case "install":
		if req.Source == "" {
			err = t.prepSync(ctx)
		} else {
			err = t.prepInstall(ctx, req.Source)
		}
	case "update":
		err = t.prepUpdate(ctx, req.Names)
	case "remove":
		if len(req.Names) != 1 {
			return nil, fmt.Errorf("remove takes one plugin name")
		}
		err = t.prepRemove(req.Names[0])
	default:
		return nil, fmt.Errorf("unknown package action %q (install, update or remove)", req.Action)
	}
	if err != nil {
		return nil, err
	}
	p := &Plan{Lock: t.newLock(), Changes: t.changes(), Remove: sortedKeys(t.remove)}
	for _, n := range t.installOrder() {
		c := t.add[n]
		data, err := archive.PackBytes(c.dir, n)
		if err != nil {
			return nil, err
		}
		p.Archives = append(p.Archives, PlannedArchive{Name: n, Version: c.info.Version, SHA256: archive.SHA256(data), Hash: c.entry.Hash, Data: data})
	}
	return p, nil
}

// installOrder lists the staged plugins, dependencies before dependents.
func (t *txn) installOrder() []string {
	var out []string
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		c := t.add[n]
		if seen[n] || c == nil {
			return
		}
		seen[n] = true
		deps := append([]string(nil), c.info.Dependencies...)
		sort.Strings(deps)
		for _, d := range deps {
			if dep, err := engine.ParseDependency(d); err == nil {
				visit(dep.Name)
			}
		}
		out = append(out, n)
	}
	for _, n := range sortedKeys(t.add) {
		visit(n)
	}
	return out
}
