package records

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// Loader reads plugin directories into records. The engine fills it once:
// reading a manifest runs init.lua with the engine's host modules.
type Loader struct {
	Root string
	// ReadManifest runs a plugin's init.lua in a throwaway state and reads
	// its manifest.
	ReadManifest func(ctx context.Context, src *luavm.Source) (*spec.Manifest, error)
	Log          *slog.Logger
}

// Discover scans plugins/ and loads every plugin's source and manifest into
// s, returning their names, sorted.
func (l Loader) Discover(ctx context.Context, s Set) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(l.Root, "plugins"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(l.Root, "plugins", ent.Name(), "init.lua")); err != nil {
			continue
		}
		names = append(names, ent.Name())
		s[ent.Name()] = l.Load(ctx, ent.Name(), s[ent.Name()])
	}
	sort.Strings(names)
	return names, nil
}

// Load compiles a plugin's source and reads its manifest; the generation
// counter and wanted carry over from old, the record it replaces (or nil).
func (l Loader) Load(ctx context.Context, name string, old *Plugin) *Plugin {
	p := &Plugin{Name: name, State: admin.StateDiscovered}
	if old != nil {
		p.GenSeq, p.Wanted = old.GenSeq, old.Wanted
	}
	src, err := luavm.LoadSource(l.Root, name)
	if err == nil {
		p.Manifest, err = l.ReadManifest(ctx, src)
	}
	if err != nil {
		p.Fail(err)
		l.Log.Error("plugin failed to load", "plugin", name, "err", err)
		return p
	}
	p.Src = src
	return p
}

// Exists reports whether name is one directory below plugins/ with an
// init.lua (a plugin directory created after Start).
func (l Loader) Exists(name string) bool {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return false
	}
	_, err := os.Stat(filepath.Join(l.Root, "plugins", name, "init.lua"))
	return err == nil
}

// Refresh reads a plugin's files again (a fix is picked up rather than the
// cached error repeated); a plugin that is serving keeps its source.
func (l Loader) Refresh(ctx context.Context, p *Plugin) {
	if p.Gen != nil {
		return
	}
	fresh := l.Load(ctx, p.Name, p)
	fresh.Wanted = p.Wanted
	*p = *fresh
}
