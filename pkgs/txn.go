package pkgs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// txn is one install, update or remove: candidates are fetched and
// checked in a staging directory inside the root (the same filesystem as
// plugins/, so moving them in is a rename), and nothing under plugins/
// changes before commit.
type txn struct {
	m         *Manager
	stage     string
	installed map[string]Info // what plugins/ holds now
	lock      *LockFile
	add       map[string]*candidate
	remove    map[string]bool
	notes     map[string]string // why a plugin stays (update)
	seq       int
}

// candidate is one plugin fetched into the staging directory.
type candidate struct {
	info  Info
	dir   string
	entry LockEntry
}

func (m *Manager) begin(ctx context.Context) (*txn, error) {
	lock, err := ReadLock(m.root)
	if err != nil {
		return nil, err
	}
	t := &txn{m: m, lock: lock, add: map[string]*candidate{}, remove: map[string]bool{}, notes: map[string]string{}, installed: map[string]Info{}}
	if exists(filepath.Join(m.root, "plugins")) {
		if t.installed, err = m.inspect(ctx, m.root); err != nil {
			return nil, err
		}
	}
	removeStaleStages(m.root)
	if t.stage, err = os.MkdirTemp(m.root, ".vbwd-pkgs-"); err != nil {
		return nil, fmt.Errorf("cannot stage in %s: %w", m.root, err)
	}
	if err := os.Mkdir(filepath.Join(t.stage, "plugins"), 0o755); err != nil {
		t.abort()
		return nil, err
	}
	return t, nil
}

func (t *txn) abort() { _ = os.RemoveAll(t.stage) }

// removeStaleStages removes staging directories a killed install left
// behind (an hour old: no install takes that long).
func removeStaleStages(root string) {
	old, _ := filepath.Glob(filepath.Join(root, ".vbwd-pkgs-*"))
	for _, d := range old {
		if st, err := os.Stat(d); err == nil && st.IsDir() && time.Since(st.ModTime()) > time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

// local reports a plugin in plugins/ that plugins.lock does not know.
func (t *txn) local(name string) (Info, bool) {
	info, ok := t.installed[name]
	_, locked := t.lock.Plugins[name]
	return info, ok && !locked
}

// final is plugins/ as it will be after commit.
func (t *txn) final() map[string]Info {
	out := make(map[string]Info, len(t.installed)+len(t.add))
	for n, i := range t.installed {
		if !t.remove[n] {
			out[n] = i
		}
	}
	for n, c := range t.add {
		out[n] = c.info
	}
	return out
}

// rangeSet is what the plugins of the final set require of one plugin.
type rangeSet []struct {
	from string
	dep  engine.Dependency
}

// refusing names the first requirement v breaks ("" when none).
func (r rangeSet) refusing(v *semver.Version) string {
	for _, x := range r {
		if !x.dep.Allows(v) {
			return fmt.Sprintf("%s (requires %s)", x.from, x.dep)
		}
	}
	return ""
}

func (r rangeSet) String() string {
	var s []string
	for _, x := range r {
		s = append(s, x.from+" requires "+x.dep.String())
	}
	return strings.Join(s, ", ")
}

func (t *txn) rangesOn(name string) rangeSet {
	var out rangeSet
	fin := t.final()
	for _, from := range sortedKeys(fin) {
		if from == name {
			continue
		}
		for _, d := range fin[from].Dependencies {
			if dep, err := engine.ParseDependency(d); err == nil && dep.Name == name {
				out = append(out, struct {
					from string
					dep  engine.Dependency
				}{from, dep})
			}
		}
	}
	return out
}

func (t *txn) dependents(name string) []string {
	var out []string
	for _, r := range t.rangesOn(name) {
		out = append(out, r.from)
	}
	return out
}

// resolve fetches, from the indexes, every dependency the final set lacks
// (the newest version every requirement allows), then checks every range.
func (t *txn) resolve(ctx context.Context) error {
	for {
		missing := ""
		fin := t.final()
		for _, n := range sortedKeys(fin) {
			for _, d := range fin[n].Dependencies {
				dep, err := engine.ParseDependency(d)
				if err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
				if _, ok := fin[dep.Name]; !ok && missing == "" {
					missing = dep.Name
				}
			}
		}
		if missing == "" {
			return t.check()
		}
		if t.remove[missing] {
			return fmt.Errorf("%s is required by %v", missing, t.dependents(missing))
		}
		ranges := t.rangesOn(missing)
		t.m.logf("%s: needed by %s; looking it up in the indexes", missing, ranges)
		if _, err := t.fetchIndex(ctx, missing, func(v *semver.Version) bool { return ranges.refusing(v) == "" }, ranges.String()); err != nil {
			return fmt.Errorf("%s is not installed (%s): %w", missing, ranges, err)
		}
	}
}

// check verifies every dependency range of the final set.
func (t *txn) check() error {
	fin := t.final()
	for _, n := range sortedKeys(fin) {
		for _, d := range fin[n].Dependencies {
			dep, _ := engine.ParseDependency(d)
			tgt := fin[dep.Name]
			v, err := semver.StrictNewVersion(tgt.Version)
			if err != nil {
				return fmt.Errorf("%s requires %s, whose version is unknown (%v)", n, dep, tgt.Err)
			}
			if !dep.Allows(v) {
				verb := "installed"
				if _, ok := t.add[dep.Name]; ok {
					verb = "going to be"
				}
				return fmt.Errorf("%s %s requires %s, but %s is %s %s", n, fin[n].Version, dep, dep.Name, verb, v)
			}
		}
	}
	return nil
}

// fetchExpect fetches a plugin that must be name at version.
func (t *txn) fetchExpect(ctx context.Context, s Source, name, version string) (*candidate, error) {
	c, err := t.fetch(ctx, s)
	if err != nil {
		return nil, err
	}
	if c.info.Name != name || c.info.Version != version {
		return nil, fmt.Errorf("%s: expected %s %s, found %s %s", s, name, version, c.info.Name, c.info.Version)
	}
	return c, nil
}

// fetch stages one source as <stage>/plugins/<name> and reads its manifest
// with the engine's loader.
func (t *txn) fetch(ctx context.Context, s Source) (*candidate, error) {
	if s.Kind == KindIndex {
		ok, desc := func(*semver.Version) bool { return true }, "any version"
		if s.Version != "" {
			c, err := semver.NewConstraint(s.Version)
			if err != nil {
				return nil, fmt.Errorf("%s@%s: bad version or range: %v", s.Loc, s.Version, err)
			}
			ok, desc = c.Check, s.Version
		}
		return t.fetchIndex(ctx, s.Loc, ok, desc)
	}
	work, err := t.workDir()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(work, "out")
	entry := LockEntry{Source: s.String()}
	var name string
	switch s.Kind {
	case KindGit:
		t.m.logf("fetching %s", s)
		if entry.Resolved, err = t.m.fetchGit(ctx, s, work, out); err != nil {
			return nil, err
		}
		name = guessName(out, s)
	case KindArchive:
		if name, entry.SHA256, err = t.m.fetchArchive(ctx, s.Loc, "", nil, out); err != nil {
			return nil, err
		}
		entry.Resolved = s.Loc
		out = filepath.Join(out, name)
	default:
		return nil, fmt.Errorf("unknown source kind %q", s.Kind)
	}
	return t.stageCandidate(ctx, name, out, entry, s.String())
}

// fetchIndex stages the newest version of name the indexes publish that
// ok accepts; the archive must match the index's sha256 (and signature).
func (t *txn) fetchIndex(ctx context.Context, name string, ok func(*semver.Version) bool, desc string) (*candidate, error) {
	rs, err := t.m.releases(ctx, name)
	if err != nil {
		return nil, err
	}
	var r *Release
	for i := range rs {
		if ok(rs[i].Version) {
			r = &rs[i]
			break
		}
	}
	if r == nil {
		return nil, fmt.Errorf("%s: no configured index offers a version satisfying %s (found %d versions)", name, desc, len(rs))
	}
	work, err := t.workDir()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(work, "out")
	sig := r.Signature
	got, sha, err := t.m.fetchArchive(ctx, r.URL, r.SHA256, &sig, out)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, r.Version, err)
	}
	if got != name {
		return nil, fmt.Errorf("%s %s: the archive %s holds %q, not %q", name, r.Version, r.URL, got, name)
	}
	entry := LockEntry{Source: KindIndex, Resolved: r.URL, SHA256: sha}
	c, err := t.stageCandidate(ctx, name, filepath.Join(out, name), entry, r.URL)
	if err == nil && c.info.Version != r.Version.String() {
		err = fmt.Errorf("%s: the index says version %s, its init.lua says %s", r.URL, r.Version, c.info.Version)
	}
	return c, err
}

func (t *txn) workDir() (string, error) {
	t.seq++
	work := filepath.Join(t.stage, fmt.Sprintf("fetch%d", t.seq))
	if err := os.MkdirAll(filepath.Join(work, "out"), 0o755); err != nil {
		return "", err
	}
	return work, nil
}

// stageCandidate moves an unpacked plugin to <stage>/plugins/<name> and
// reads it with the engine's loader: the manifest's name must be name.
func (t *txn) stageCandidate(ctx context.Context, name, dir string, entry LockEntry, from string) (*candidate, error) {
	if !pluginName.MatchString(name) {
		return nil, fmt.Errorf("%s: %q is not a plugin name (lower-case letters, digits and _)", from, name)
	}
	if _, dup := t.add[name]; dup {
		return nil, fmt.Errorf("%s: %s is already being installed from %s", from, name, t.add[name].entry.Source)
	}
	dst := filepath.Join(t.stage, "plugins", name)
	if err := os.Rename(dir, dst); err != nil {
		return nil, err
	}
	infos, err := t.m.inspect(ctx, t.stage)
	if err != nil {
		return nil, err
	}
	info, ok := infos[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: no init.lua in the plugin directory", from)
	case info.Err != nil:
		return nil, fmt.Errorf("%s: %w", from, info.Err)
	}
	if info.Hash == "" {
		if info.Hash, err = archive.DirHash(dst); err != nil {
			return nil, err
		}
	}
	entry.Version, entry.Hash = info.Version, info.Hash
	c := &candidate{info: info, dir: dst, entry: entry}
	t.add[name] = c
	t.m.logf("staged %s %s from %s", name, info.Version, from)
	return c, nil
}

// commit renames the staged plugins into plugins/ (the replaced and
// removed ones into the staging directory), then writes plugins.lock and
// plugins.json. Any failure puts everything back.
func (t *txn) commit(enable bool) (err error) {
	plugins := filepath.Join(t.m.root, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return err
	}
	old := filepath.Join(t.stage, "old")
	if err := os.Mkdir(old, 0o755); err != nil {
		return err
	}
	type move struct{ from, to string }
	var done []move
	files := map[string][]byte{} // root files to restore on failure
	defer func() {
		if err == nil {
			return
		}
		for i := len(done) - 1; i >= 0; i-- {
			_ = os.Rename(done[i].to, done[i].from)
		}
		for f, b := range files {
			if b == nil {
				_ = os.Remove(f)
			} else {
				_ = os.WriteFile(f, b, 0o644)
			}
		}
	}()
	mv := func(from, to string) error {
		if err := os.Rename(from, to); err != nil {
			return err
		}
		done = append(done, move{from, to})
		return nil
	}
	for _, ch := range t.changes() {
		n := ch.Name
		cur := filepath.Join(plugins, n)
		if _, err := os.Lstat(cur); err == nil && (t.remove[n] || t.add[n] != nil) {
			if err := mv(cur, filepath.Join(old, n)); err != nil {
				return err
			}
		}
		if c := t.add[n]; c != nil {
			if err := mv(c.dir, cur); err != nil {
				return err
			}
		}
	}
	if commitHook != nil {
		if err := commitHook(); err != nil {
			return err
		}
	}
	lockFile := filepath.Join(t.m.root, LockName)
	files[lockFile] = readOrNil(lockFile)
	if err := t.newLock().write(t.m.root); err != nil {
		return err
	}
	pj := filepath.Join(t.m.root, "plugins.json")
	files[pj] = readOrNil(pj)
	return updatePluginsJSON(pj, t.add, t.remove, enable)
}

// newLock is plugins.lock after the transaction.
func (t *txn) newLock() *LockFile {
	lock := t.lock.clone()
	for n := range t.remove {
		delete(lock.Plugins, n)
	}
	for n, c := range t.add {
		e := c.entry
		lock.Plugins[n] = &e
	}
	return lock
}

// commitHook, set by tests, runs after the renames, before the lock is
// written: a failure there must put plugins/ back.
var commitHook func() error

func readOrNil(f string) []byte {
	b, err := os.ReadFile(f)
	if err != nil {
		return nil
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// updatePluginsJSON drops removed plugins from plugins.json and, with
// enable, marks the installed ones enabled. A root without plugins.json
// enables every plugin, so none is made.
func updatePluginsJSON(file string, add map[string]*candidate, remove map[string]bool, enable bool) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var raw map[string]any
	if err := jsonUnmarshal(b, &raw); err != nil {
		return fmt.Errorf("plugins.json: %w", err)
	}
	ps, _ := raw["plugins"].(map[string]any)
	if ps == nil {
		ps = map[string]any{}
		raw["plugins"] = ps
	}
	changed := false
	for n := range remove {
		if _, ok := ps[n]; ok {
			delete(ps, n)
			changed = true
		}
	}
	if enable {
		for n := range add {
			e, _ := ps[n].(map[string]any)
			if e == nil {
				e = map[string]any{}
				ps[n] = e
			}
			e["enabled"] = true
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return writeJSONAtomic(file, raw)
}

// jsonUnmarshal keeps numbers as written (json.Number).
func jsonUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
