package pkgs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// LockFile is plugins.lock, next to plugins.json: what `vbwd plugin install`
// put in plugins/, enough to reproduce it on a fresh machine. Plugins not in
// it were copied by hand ("local").
type LockFile struct {
	Plugins map[string]*LockEntry `json:"plugins"`
}

// LockEntry records one installed plugin.
type LockEntry struct {
	Version string `json:"version"`
	// Source is what was asked for: "git+<repo>[#<subdir>]", an archive URL
	// or path, or "index".
	Source string `json:"source"`
	// Resolved pins it: the git commit, or the archive URL fetched.
	Resolved string `json:"resolved"`
	// SHA256 is the archive's hash (archive and index sources).
	SHA256 string `json:"sha256,omitempty"`
	// Hash is the content hash of plugins/<name>, the one the engine reports.
	Hash string `json:"hash"`
}

// LockName is the lock file's name in the root.
const LockName = "plugins.lock"

// ReadLock reads <root>/plugins.lock; a missing file is an empty lock.
func ReadLock(root string) (*LockFile, error) {
	l := &LockFile{Plugins: map[string]*LockEntry{}}
	b, err := os.ReadFile(filepath.Join(root, LockName))
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("%s: bad JSON: %w", LockName, err)
	}
	if l.Plugins == nil {
		l.Plugins = map[string]*LockEntry{}
	}
	return l, nil
}

func (l *LockFile) write(root string) error {
	return writeJSONAtomic(filepath.Join(root, LockName), l)
}

func (l *LockFile) clone() *LockFile {
	c := &LockFile{Plugins: make(map[string]*LockEntry, len(l.Plugins))}
	for n, e := range l.Plugins {
		cp := *e
		c.Plugins[n] = &cp
	}
	return c
}

// Names lists the locked plugins, sorted.
func (l *LockFile) Names() []string {
	out := make([]string, 0, len(l.Plugins))
	for n := range l.Plugins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
