package pkgs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Index is a static index.json: any static file server, or a git host's
// release assets, serving it and the archives it names is a registry.
//
//	{"plugins": {"<name>": {"description": "...", "versions": {"1.2.0": {
//	  "url": "<name>-1.2.0.tar.gz", "sha256": "<hex of the archive>",
//	  "dependencies": ["other@^1.0"], "signature": "<base64 Ed25519>",
//	  "hash": "<content hash of the unpacked directory>"}}}}}
//
// A relative url is resolved against the index.json's own location.
type Index struct {
	Plugins map[string]*IndexPlugin `json:"plugins"`
}

// IndexPlugin is one plugin's entry in an index.
type IndexPlugin struct {
	Description string                   `json:"description,omitempty"`
	Versions    map[string]*IndexVersion `json:"versions"`
}

// IndexVersion is one published version.
type IndexVersion struct {
	URL          string   `json:"url"`
	SHA256       string   `json:"sha256"`
	Dependencies []string `json:"dependencies,omitempty"`
	Signature    string   `json:"signature,omitempty"`
	Hash         string   `json:"hash,omitempty"`
}

// Release is an index version found for a plugin, its URL resolved.
type Release struct {
	Name        string
	Version     *semver.Version
	Description string
	IndexVersion
	Index string // the index.json it came from
}

// maxIndex bounds one index.json.
const maxIndex = 32 << 20

// loadIndexes reads every configured index (once per Manager).
func (m *Manager) loadIndexes(ctx context.Context) ([]*loadedIndex, error) {
	if m.indexes != nil {
		return m.indexes, nil
	}
	if len(m.cfg.Indexes) == 0 {
		return nil, fmt.Errorf("no plugin index is configured (config.json vbwd.packages.indexes)")
	}
	var out []*loadedIndex
	for _, loc := range m.cfg.Indexes {
		b, err := m.fetchBytes(ctx, loc, maxIndex)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", loc, err)
		}
		ix := &Index{}
		if err := json.Unmarshal(b, ix); err != nil {
			return nil, fmt.Errorf("index %s: bad JSON: %w", loc, err)
		}
		out = append(out, &loadedIndex{loc: loc, Index: ix})
	}
	m.indexes = out
	return out, nil
}

type loadedIndex struct {
	loc string
	*Index
}

// releases lists every version of name the indexes publish, newest first
// (the first index listing a version wins).
func (m *Manager) releases(ctx context.Context, name string) ([]Release, error) {
	ixs, err := m.loadIndexes(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Release
	for _, ix := range ixs {
		p := ix.Plugins[name]
		if p == nil {
			continue
		}
		for vs, v := range p.Versions {
			sv, err := semver.StrictNewVersion(vs)
			if err != nil || seen[sv.String()] || v == nil {
				continue // a bad entry in someone's index hides only itself
			}
			seen[sv.String()] = true
			r := Release{Name: name, Version: sv, Description: p.Description, IndexVersion: *v, Index: ix.loc}
			if r.URL, err = resolveRef(ix.loc, v.URL); err != nil {
				continue
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version.GreaterThan(out[j].Version) })
	return out, nil
}

// SearchResult is one plugin an index publishes.
type SearchResult struct {
	Name        string `json:"name"`
	Latest      string `json:"latest"`
	Description string `json:"description,omitempty"`
	Index       string `json:"index"`
}

// Search lists the plugins whose name or description contains term (all
// when term is empty), with their newest version.
func (m *Manager) Search(ctx context.Context, term string) ([]SearchResult, error) {
	ixs, err := m.loadIndexes(ctx)
	if err != nil {
		return nil, err
	}
	term = strings.ToLower(term)
	seen := map[string]bool{}
	var out []SearchResult
	for _, ix := range ixs {
		for name, p := range ix.Plugins {
			if seen[name] || p == nil || !(strings.Contains(name, term) || strings.Contains(strings.ToLower(p.Description), term)) {
				continue
			}
			rs, err := m.releases(ctx, name)
			if err != nil || len(rs) == 0 {
				continue
			}
			seen[name] = true
			out = append(out, SearchResult{Name: name, Latest: rs[0].Version.String(), Description: p.Description, Index: ix.loc})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AddToIndex merges one version into the index.json at file (made when
// missing), written atomically.
func AddToIndex(file, name, description, version string, v IndexVersion) error {
	ix := &Index{}
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, ix); err != nil {
			return fmt.Errorf("%s: bad JSON: %w", file, err)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	if ix.Plugins == nil {
		ix.Plugins = map[string]*IndexPlugin{}
	}
	p := ix.Plugins[name]
	if p == nil {
		p = &IndexPlugin{}
		ix.Plugins[name] = p
	}
	if p.Versions == nil {
		p.Versions = map[string]*IndexVersion{}
	}
	p.Description = description
	p.Versions[version] = &v
	return writeJSONAtomic(file, ix)
}

func joinDir(base, ref string) string {
	return filepath.Join(filepath.Dir(base), filepath.FromSlash(ref))
}

// writeJSONAtomic writes v indented to file through a temporary file and a
// rename, so a reader never sees half a file.
func writeJSONAtomic(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
