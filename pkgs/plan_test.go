package pkgs_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/pkgs"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// TestPlan: a plan resolves like Install but writes nothing; its archives
// come dependencies first and unpack to the hashes it announces.
func TestPlan(t *testing.T) {
	repo, _ := blogRepo(t)
	reg := newRegistry(t, nil, "1.0.0", "1.1.0")
	root := newRoot(t, map[string]any{"indexes": []string{reg.indexURL()}})
	before := tree(t, root)
	p, err := manager(t, root, reg).Plan(ctx, pkgs.Request{Action: "install", Source: "git+" + repo + "#plugins/blog"})
	if err != nil {
		t.Fatal(err)
	}
	if tree(t, root) != before {
		t.Fatal("a plan changed the root")
	}
	if len(p.Archives) != 2 || p.Archives[0].Name != "base" || p.Archives[1].Name != "blog" || p.Archives[1].Version != "1.1.0" {
		t.Fatalf("archives %+v", p.Archives)
	}
	for _, a := range p.Archives {
		dir := t.TempDir()
		if err := archive.Extract(bytes.NewReader(a.Data), true, dir, archive.Limits{}); err != nil {
			t.Fatal(err)
		}
		h, err := archive.DirHash(filepath.Join(dir, a.Name))
		if err != nil || h != a.Hash || archive.SHA256(a.Data) != a.SHA256 || p.Lock.Plugins[a.Name].Hash != h {
			t.Fatalf("%s: unpacked hash %s, planned %s, locked %s (%v)", a.Name, h, a.Hash, p.Lock.Plugins[a.Name].Hash, err)
		}
	}
}
