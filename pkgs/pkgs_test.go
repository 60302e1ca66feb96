package pkgs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/pkgs"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

var ctx = context.Background()

func TestInstallByTag(t *testing.T) {
	repo := baseRepo(t)
	root := newRoot(t, nil)
	m := manager(t, root, nil)
	if _, err := m.Install(ctx, repo+"@v1.1.0", pkgs.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	got := installed(t, root)
	if got["base"].Version != "1.1.0" {
		t.Fatalf("installed %+v, want base 1.1.0", got)
	}
	e := lockOf(t, root).Plugins["base"]
	if e == nil || e.Version != "1.1.0" || e.Source != "git+"+repo {
		t.Fatalf("lock entry %+v", e)
	}
	if want := git(t, repo, "rev-parse", "v1.1.0^{commit}"); e.Resolved != want {
		t.Fatalf("resolved %s, want the tag's commit %s", e.Resolved, want)
	}
	// the lock's hash is the engine's, and archive.DirHash computes the same
	h, err := archive.DirHash(filepath.Join(root, "plugins", "base"))
	if err != nil || h != got["base"].Hash || e.Hash != h {
		t.Fatalf("hashes: lock %s, engine %s, DirHash %s (%v)", e.Hash, got["base"].Hash, h, err)
	}
	if entries, _ := filepath.Glob(filepath.Join(root, ".vbwd-pkgs-*")); len(entries) != 0 {
		t.Fatalf("staging left behind: %v", entries)
	}
}

func TestInstallPullsDependencyFromIndex(t *testing.T) {
	repo, commits := blogRepo(t)
	reg := newRegistry(t, nil, "1.0.0", "1.1.0", "2.0.0")
	root := newRoot(t, map[string]any{"indexes": []string{reg.indexURL()}})
	m := manager(t, root, reg)
	changes, err := m.Install(ctx, "git+"+repo+"#plugins/blog@v1.0.0", pkgs.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("changes %+v, want blog and base", changes)
	}
	got := installed(t, root)
	if got["blog"].Version != "1.0.0" || got["base"].Version != "1.1.0" {
		t.Fatalf("installed blog %q base %q, want 1.0.0 and the newest ^1.0 (1.1.0)", got["blog"].Version, got["base"].Version)
	}
	l := lockOf(t, root)
	if l.Plugins["blog"].Resolved != commits["v1.0.0"] || l.Plugins["base"].Source != "index" ||
		l.Plugins["base"].Resolved != reg.srv.URL+"/base-1.1.0.tar.gz" {
		t.Fatalf("lock %+v %+v", l.Plugins["blog"], l.Plugins["base"])
	}
}

// installed blog 1.0.0 (git) needing base@^1.0, and base 1.0.0 from the index
func blogAndBase(t *testing.T) (root string, m *pkgs.Manager, reg *registry) {
	repo, _ := blogRepo(t)
	reg = newRegistry(t, nil, "1.0.0", "1.1.0", "2.0.0")
	root = newRoot(t, map[string]any{"indexes": []string{reg.indexURL()}})
	m = manager(t, root, reg)
	if _, err := m.Install(ctx, "base@1.0.0", pkgs.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Install(ctx, "git+"+repo+"#plugins/blog@v1.0.0", pkgs.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	return root, m, reg
}

func TestUpdateWithinRanges(t *testing.T) {
	root, m, _ := blogAndBase(t)
	changes, err := m.Update(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := installed(t, root)
	if got["base"].Version != "1.1.0" || got["blog"].Version != "1.1.0" {
		t.Fatalf("after update: base %s blog %s, want 1.1.0 (2.0.0 is outside blog's ^1.0) and 1.1.0 (newest tag)",
			got["base"].Version, got["blog"].Version)
	}
	held := false
	for _, c := range changes {
		if c.Name == "base" && c.Note == "2.0.0 is available but held back by blog (requires base@^1.0)" {
			held = true
		}
	}
	if !held {
		t.Fatalf("changes %+v: want base's note that 2.0.0 is held back", changes)
	}
	l := lockOf(t, root)
	if l.Plugins["base"].Version != "1.1.0" || l.Plugins["blog"].Version != "1.1.0" {
		t.Fatalf("lock not updated: %+v %+v", l.Plugins["base"], l.Plugins["blog"])
	}
}

func TestUpdateBreakingDependentRefused(t *testing.T) {
	root, m, _ := blogAndBase(t)
	before, lock := tree(t, filepath.Join(root, "plugins")), tree(t, root)
	_, err := m.Update(ctx, []string{"base@2.0.0"})
	wantErr(t, err, "updating base to 2.0.0 would break blog (requires base@^1.0)")
	// installing it directly is refused the same way
	_, err = m.Install(ctx, "base@2.0.0", pkgs.InstallOptions{})
	wantErr(t, err, "blog 1.0.0 requires base@^1.0, but base is going to be 2.0.0")
	if after := tree(t, filepath.Join(root, "plugins")); after != before {
		t.Fatalf("plugins/ changed by refused updates:\n%s\n---\n%s", before, after)
	}
	if tree(t, root) != lock {
		t.Fatal("the root (plugins.lock, staging) changed after refused updates")
	}
}

func TestRemoveRefusedThenAllowed(t *testing.T) {
	root, m, _ := blogAndBase(t)
	_, err := m.Remove(ctx, "base")
	wantErr(t, err, "base is required by [blog]")
	if _, err := m.Remove(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Remove(ctx, "base"); err != nil {
		t.Fatal(err)
	}
	if got := installed(t, root); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
	if l := lockOf(t, root); len(l.Plugins) != 0 {
		t.Fatalf("lock left %v", l.Names())
	}
}

func TestInstallFromLockOnEmptyRoot(t *testing.T) {
	root, _, reg := blogAndBase(t)
	fresh := t.TempDir() // no plugins/ at all
	for _, f := range []string{pkgs.LockName, "config.json"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(fresh, f), string(b))
	}
	m := manager(t, fresh, reg)
	if _, err := m.Sync(ctx, pkgs.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if a, b := tree(t, filepath.Join(root, "plugins")), tree(t, filepath.Join(fresh, "plugins")); a != b {
		t.Fatalf("reproduced plugins/ differs:\n%s\n---\n%s", a, b)
	}
	st, err := m.Verify()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != "ok" {
			t.Fatalf("verify %+v", st)
		}
	}
	// a hand edit shows in verify, and a second sync refuses to overwrite it
	write(t, filepath.Join(fresh, "plugins", "base", "extra.lua"), "return 1\n")
	write(t, filepath.Join(fresh, "plugins", "mine", "init.lua"), initLua("mine", "0.1.0"))
	st, _ = m.Verify()
	states := map[string]string{}
	for _, s := range st {
		states[s.Name] = s.State
	}
	if states["base"] != "modified" || states["blog"] != "ok" || states["mine"] != "local" {
		t.Fatalf("verify states %v", states)
	}
	_, err = m.Sync(ctx, pkgs.InstallOptions{})
	wantErr(t, err, "plugins/base differs from plugins.lock")
}

func TestLocalPluginClash(t *testing.T) {
	repo := baseRepo(t)
	root := newRoot(t, nil)
	write(t, filepath.Join(root, "plugins", "base", "init.lua"), initLua("base", "0.1.0"))
	before := tree(t, root)
	_, err := manager(t, root, nil).Install(ctx, repo, pkgs.InstallOptions{})
	wantErr(t, err, "plugins/base is already there and was not installed from a source")
	_, err = manager(t, root, nil).Remove(ctx, "base")
	wantErr(t, err, "base was not installed from a source")
	if tree(t, root) != before {
		t.Fatal("root changed")
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	root := newRoot(t, map[string]any{"indexes": []string{"http://127.0.0.1:1/index.json"}})
	m := manager(t, root, nil)
	_, err := m.Install(ctx, "base", pkgs.InstallOptions{})
	wantErr(t, err, "plain-text sources are refused")
	_, err = m.Install(ctx, "http://127.0.0.1:1/base-1.0.0.tar.gz", pkgs.InstallOptions{})
	wantErr(t, err, "plain-text sources are refused")
	_, err = m.Install(ctx, "http://127.0.0.1:1/base.git@v1.0.0", pkgs.InstallOptions{})
	wantErr(t, err, "plain-text sources are refused")
}

// TestFailedCommitRollsBack: a commit failing after the directories were
// renamed into plugins/ puts everything back.
func TestFailedCommitRollsBack(t *testing.T) {
	root, m, _ := blogAndBase(t)
	before := tree(t, root)
	var seen string
	defer pkgs.SetCommitHook(func() error {
		seen = tree(t, filepath.Join(root, "plugins"))
		return errors.New("disk full")
	})()
	_, err := m.Update(ctx, nil)
	wantErr(t, err, "disk full")
	if seen == tree(t, filepath.Join(root, "plugins")) {
		t.Fatal("the hook ran before anything was renamed")
	}
	if after := tree(t, root); after != before {
		t.Fatalf("a failed update changed the root:\n%s\n---\n%s", before, after)
	}
}

func TestMissingDependencyWithoutIndex(t *testing.T) {
	repo, _ := blogRepo(t)
	root := newRoot(t, nil)
	before := tree(t, root)
	_, err := manager(t, root, nil).Install(ctx, "git+"+repo+"#plugins/blog", pkgs.InstallOptions{})
	wantErr(t, err, "base is not installed (blog requires base@^1.0): no plugin index is configured")
	if tree(t, root) != before {
		t.Fatal("root changed")
	}
}

// TestStaleStagingRemoved: a staging directory a killed install left an
// hour ago is removed by the next install; a recent one is left alone.
func TestStaleStagingRemoved(t *testing.T) {
	repo := baseRepo(t)
	root := newRoot(t, nil)
	stale, fresh := filepath.Join(root, ".vbwd-pkgs-old"), filepath.Join(root, ".vbwd-pkgs-new")
	for _, d := range []string{stale, fresh} {
		write(t, filepath.Join(d, "plugins", "x", "init.lua"), "x")
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := manager(t, root, nil).Install(ctx, repo, pkgs.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale staging directory is still there")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a recent staging directory was removed")
	}
}
