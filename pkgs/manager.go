// Package pkgs installs plugins as packages: from a git repository, an
// archive or a static index, pinned in plugins.lock, updated within the
// dependency ranges the manifests declare. Every change is staged in a
// directory inside the root and renamed into plugins/, so a failed install
// or update leaves plugins/ as it was.
//
// pkgs reads manifests through an Inspector (EngineInspector runs the
// engine's own loader), so the rules for names, versions and dependency
// ranges are the engine's.
package pkgs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Info is what the engine's loader says about one plugin directory.
type Info struct {
	Name         string
	Version      string
	Description  string
	Dependencies []string // "name" or "name@range"
	Hash         string   // the content hash the engine reports
	Err          error    // the plugin did not load (bad manifest, syntax error)
}

// Inspector reads every plugin in <root>/plugins, by name.
type Inspector func(ctx context.Context, root string) (map[string]Info, error)

// Manager installs, updates and removes the plugins of one root.
type Manager struct {
	root    string
	cfg     *Config
	inspect Inspector
	// HTTP fetches indexes and archives; nil: a client with a timeout.
	HTTP *http.Client
	// Log receives one line per step (fetching, installing); nil: discard.
	Log io.Writer

	indexes []*loadedIndex
}

// New makes a manager for root, reading config.json's vbwd.packages.
func New(root string, inspect Inspector) (*Manager, error) {
	cfg, err := ReadConfig(root)
	if err != nil {
		return nil, err
	}
	return &Manager{root: root, cfg: cfg, inspect: inspect}, nil
}

// Config is the packages configuration read from config.json.
func (m *Manager) Config() *Config { return m.cfg }

func (m *Manager) client() *http.Client {
	if m.HTTP != nil {
		return m.HTTP
	}
	return &http.Client{Timeout: 5 * time.Minute}
}

func (m *Manager) logf(format string, args ...any) {
	if m.Log != nil {
		fmt.Fprintf(m.Log, format+"\n", args...)
	}
}

// Change is one plugin an operation installed, updated or removed.
type Change struct {
	Name   string `json:"name"`
	From   string `json:"from,omitempty"` // version before; "" when newly installed
	To     string `json:"to,omitempty"`   // version after; "" when removed
	Source string `json:"source,omitempty"`
	Hash   string `json:"hash,omitempty"`
	Note   string `json:"note,omitempty"`
}

// InstallOptions tune Install.
type InstallOptions struct {
	// Enable marks the installed plugins enabled in plugins.json (when the
	// root has one; without it every plugin is enabled).
	Enable bool
}

// Install fetches a source, installs missing dependencies from the
// indexes and writes the result to plugins/ and plugins.lock. A plugin of
// the same name installed by hand is a clash; one installed from a source
// is replaced (the new version must satisfy every installed dependent).
func (m *Manager) Install(ctx context.Context, arg string, opts InstallOptions) ([]Change, error) {
	return m.apply(ctx, opts.Enable, func(t *txn) error { return t.prepInstall(ctx, arg) })
}

// Remove deletes an installed plugin, refusing while installed plugins
// depend on it.
func (m *Manager) Remove(ctx context.Context, name string) ([]Change, error) {
	return m.apply(ctx, false, func(t *txn) error { return t.prepRemove(name) })
}

// Update moves the named plugins (every installed one when none is named)
// to the newest versions their sources offer that satisfy every
// dependency range. "name@version" asks for that version, refused when it
// falls outside what an installed dependent requires.
func (m *Manager) Update(ctx context.Context, args []string) ([]Change, error) {
	return m.apply(ctx, false, func(t *txn) error { return t.prepUpdate(ctx, args) })
}

// apply prepares a transaction and commits it.
func (m *Manager) apply(ctx context.Context, enable bool, prep func(*txn) error) ([]Change, error) {
	t, err := m.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer t.abort()
	if err := prep(t); err != nil {
		return nil, err
	}
	if err := t.commit(enable); err != nil {
		return nil, err
	}
	return t.changes(), nil
}

func (t *txn) prepInstall(ctx context.Context, arg string) error {
	src, err := ParseSource(arg)
	if err != nil {
		return err
	}
	c, err := t.fetch(ctx, src)
	if err != nil {
		return err
	}
	if _, local := t.local(c.info.Name); local {
		return fmt.Errorf("plugins/%s is already there and was not installed from a source (a hand-copied plugin): remove it first", c.info.Name)
	}
	return t.resolve(ctx)
}

func (t *txn) prepRemove(name string) error {
	if _, ok := t.lock.Plugins[name]; !ok {
		if _, local := t.local(name); local {
			return fmt.Errorf("%s was not installed from a source (not in %s): delete plugins/%s yourself", name, LockName, name)
		}
		return fmt.Errorf("%s is not installed", name)
	}
	t.remove[name] = true
	if deps := t.dependents(name); len(deps) > 0 {
		return fmt.Errorf("%s is required by %v: remove those first", name, deps)
	}
	return nil
}

func (t *txn) prepUpdate(ctx context.Context, args []string) error {
	if len(args) == 0 {
		args = t.lock.Names()
	}
	for _, a := range args {
		name, want, _ := cutVersion(a)
		e, ok := t.lock.Plugins[name]
		if !ok {
			return fmt.Errorf("%s was not installed from a source (not in %s): nothing to update", name, LockName)
		}
		note, err := t.updateOne(ctx, name, e, want)
		if err != nil {
			return err
		}
		if note != "" {
			t.notes[name] = note
		}
	}
	return t.resolve(ctx)
}

// changes lists what the transaction does (or did), with the notes of
// plugins it leaves as they are.
func (t *txn) changes() []Change {
	out := map[string]bool{}
	for n := range t.remove {
		out[n] = true
	}
	for n := range t.add {
		out[n] = true
	}
	var changes []Change
	for _, n := range sortedKeys(out) {
		ch := Change{Name: n, From: t.installed[n].Version, Note: t.notes[n]}
		if c := t.add[n]; c != nil {
			ch.To, ch.Source, ch.Hash = c.info.Version, c.entry.Source, c.entry.Hash
		}
		changes = append(changes, ch)
	}
	for _, n := range sortedKeys(t.notes) {
		if e := t.lock.Plugins[n]; e != nil && !out[n] {
			changes = append(changes, Change{Name: n, From: e.Version, To: e.Version, Note: t.notes[n]})
		}
	}
	return changes
}

func cutVersion(a string) (name, version string, ok bool) {
	return cutLast(a, "@")
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// updateOne stages the version name should move to; it returns a note
// when it stays (up to date, held back by a dependent, pinned).
func (t *txn) updateOne(ctx context.Context, name string, e *LockEntry, want string) (string, error) {
	src, err := parseLockedSource(name, e.Source)
	if err != nil {
		return "", err
	}
	cur, err := semver.StrictNewVersion(e.Version)
	if err != nil {
		return "", fmt.Errorf("%s: %s records version %q: %v", name, LockName, e.Version, err)
	}
	avail, err := t.m.available(ctx, name, src)
	if err != nil {
		return "", err
	}
	ranges := t.rangesOn(name)
	if want != "" {
		v, err := semver.StrictNewVersion(want)
		if err != nil {
			return "", fmt.Errorf("%s@%s: not a version (MAJOR.MINOR.PATCH)", name, want)
		}
		if bad := ranges.refusing(v); bad != "" {
			return "", fmt.Errorf("updating %s to %s would break %s", name, v, bad)
		}
		ref, ok := avail[v.String()]
		if !ok {
			return "", fmt.Errorf("%s %s is not offered by %s", name, v, src)
		}
		src.Version = ref
		_, err = t.fetchExpect(ctx, src, name, v.String())
		return "", err
	}
	var best, newest *semver.Version
	for vs := range avail {
		v, _ := semver.StrictNewVersion(vs)
		if newest == nil || v.GreaterThan(newest) {
			newest = v
		}
		if ranges.refusing(v) == "" && v.GreaterThan(cur) && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	note := ""
	if newest != nil && newest.GreaterThan(cur) && (best == nil || newest.GreaterThan(best)) {
		note = fmt.Sprintf("%s is available but held back by %s", newest, ranges.refusing(newest))
	}
	switch {
	case src.Kind == KindArchive:
		return "pinned to an archive: install a newer archive to update", nil
	case best == nil && note == "":
		return "up to date", nil
	case best == nil:
		return note, nil
	}
	src.Version = avail[best.String()]
	_, err = t.fetchExpect(ctx, src, name, best.String())
	return note, err
}

// available maps the versions a source offers to the reference that
// fetches each: a git tag, or the version itself for an index.
func (m *Manager) available(ctx context.Context, name string, src Source) (map[string]string, error) {
	out := map[string]string{}
	switch src.Kind {
	case KindIndex:
		rs, err := m.releases(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out[r.Version.String()] = r.Version.String()
		}
	case KindGit:
		tags, err := m.gitTags(ctx, src.Loc)
		if err != nil {
			return nil, err
		}
		for tag, v := range tags {
			out[v.String()] = tag
		}
	}
	return out, nil
}
