package pkgs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// Sync makes plugins/ hold exactly the versions plugins.lock records
// (`vbwd plugin install` with no argument, on a fresh machine): missing
// plugins are fetched by their pinned commit or archive and must hash as
// locked. A locked plugin whose directory differs from the lock is refused,
// not overwritten.
func (m *Manager) Sync(ctx context.Context, opts InstallOptions) ([]Change, error) {
	return m.apply(ctx, opts.Enable, func(t *txn) error { return t.prepSync(ctx) })
}

func (t *txn) prepSync(ctx context.Context) error {
	for _, name := range t.lock.Names() {
		e := t.lock.Plugins[name]
		dir := filepath.Join(t.m.root, "plugins", name)
		if exists(dir) {
			h, err := archive.DirHash(dir)
			if err != nil {
				return err
			}
			if h != e.Hash {
				return fmt.Errorf("plugins/%s differs from %s (hash %s, locked %s): remove it, or `vbwd plugin verify`", name, LockName, h, e.Hash)
			}
			continue
		}
		if err := t.fetchLocked(ctx, name, e); err != nil {
			return err
		}
	}
	return t.check()
}

// fetchLocked stages one lock entry at its pinned commit or archive.
func (t *txn) fetchLocked(ctx context.Context, name string, e *LockEntry) error {
	src, err := parseLockedSource(name, e.Source)
	if err != nil {
		return err
	}
	var c *candidate
	if src.Kind == KindGit {
		src.Version = e.Resolved
		c, err = t.fetch(ctx, src)
	} else {
		var work string
		if work, err = t.workDir(); err != nil {
			return err
		}
		out := filepath.Join(work, "out")
		var got string
		if got, _, err = t.m.fetchArchive(ctx, e.Resolved, e.SHA256, nil, out); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		c, err = t.stageCandidate(ctx, got, filepath.Join(out, got), LockEntry{Source: e.Source, Resolved: e.Resolved, SHA256: e.SHA256}, e.Resolved)
	}
	if err != nil {
		return err
	}
	if c.info.Name != name || c.entry.Hash != e.Hash || c.info.Version != e.Version {
		return fmt.Errorf("%s: %s gives %s %s with hash %s; %s records %s %s with hash %s",
			name, e.Resolved, c.info.Name, c.info.Version, c.entry.Hash, LockName, name, e.Version, e.Hash)
	}
	// the lock entry stays as recorded (the source as first asked for)
	c.entry = *e
	return nil
}

// Status is one plugin compared with plugins.lock.
type Status struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// State: "ok", "modified" (hash differs), "missing" (locked, not on
	// disk) or "local" (on disk, not locked: copied by hand).
	State  string `json:"state"`
	Source string `json:"source,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Verify compares plugins/ with plugins.lock.
func (m *Manager) Verify() ([]Status, error) {
	lock, err := ReadLock(m.root)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, n := range lock.Names() {
		e := lock.Plugins[n]
		st := Status{Name: n, Version: e.Version, Source: e.Source, State: "ok"}
		dir := filepath.Join(m.root, "plugins", n)
		if !exists(dir) {
			st.State, st.Detail = "missing", "locked but not in plugins/ (vbwd plugin install reproduces it)"
		} else if h, err := archive.DirHash(dir); err != nil {
			return nil, err
		} else if h != e.Hash {
			st.State, st.Detail = "modified", fmt.Sprintf("hash %s, locked %s", h, e.Hash)
		}
		out = append(out, st)
	}
	ents, _ := os.ReadDir(filepath.Join(m.root, "plugins"))
	for _, ent := range ents {
		if _, ok := lock.Plugins[ent.Name()]; ok || !ent.IsDir() || !exists(filepath.Join(m.root, "plugins", ent.Name(), "init.lua")) {
			continue
		}
		out = append(out, Status{Name: ent.Name(), State: "local", Detail: "copied by hand, not in " + LockName})
	}
	return out, nil
}

// PackResult is what Pack wrote.
type PackResult struct {
	Archive string       `json:"archive"`
	Index   string       `json:"index"`
	Entry   IndexVersion `json:"entry"`
	Name    string       `json:"name"`
	Version string       `json:"version"`
}

// Pack writes plugins/<name> (or the plugin directory dir) as
// <out>/<name>-<version>.tar.gz and adds it to <out>/index.json; with key
// the archive is signed (the signature goes in the index entry and in
// <archive>.sig).
func Pack(ctx context.Context, inspect Inspector, dir, out string, key ed25519.PrivateKey) (*PackResult, error) {
	name := filepath.Base(dir)
	// read the manifest as the engine would: a root holding only this plugin
	tmp, err := os.MkdirTemp("", "vbwd-pack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	data, err := archive.PackBytes(dir, name)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(tmp, "plugins"), 0o755); err != nil {
		return nil, err
	}
	if err := archive.Extract(bytesReader(data), true, filepath.Join(tmp, "plugins"), archive.Limits{}); err != nil {
		return nil, err
	}
	infos, err := inspect(ctx, tmp)
	if err != nil {
		return nil, err
	}
	info, ok := infos[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: no init.lua", dir)
	case info.Err != nil:
		return nil, info.Err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	file := fmt.Sprintf("%s-%s.tar.gz", name, info.Version)
	res := &PackResult{Archive: filepath.Join(out, file), Index: filepath.Join(out, "index.json"), Name: name, Version: info.Version}
	res.Entry = IndexVersion{URL: file, SHA256: archive.SHA256(data), Dependencies: info.Dependencies, Hash: info.Hash}
	if err := os.WriteFile(res.Archive, data, 0o644); err != nil {
		return nil, err
	}
	if key != nil {
		res.Entry.Signature = Sign(key, data)
		if err := os.WriteFile(res.Archive+".sig", []byte(res.Entry.Signature+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return res, AddToIndex(res.Index, name, info.Description, info.Version, res.Entry)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
