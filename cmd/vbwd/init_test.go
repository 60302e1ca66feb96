package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	out, err := runCLI(t, context.Background(), "init", dir)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	for _, f := range []string{"created plugins.json", "created config.json", "editor stubs to .vbwd/types"} {
		if !strings.Contains(out, f) {
			t.Errorf("init output lacks %q:\n%s", f, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "plugins")); err != nil || !st.IsDir() {
		t.Errorf("no plugins/: %v", err)
	}
	if m := readJSON(t, filepath.Join(dir, "plugins.json")); m["plugins"] == nil {
		t.Errorf("plugins.json: %v", m)
	}
	// a stub of a module the binary no longer has is removed; the user's
	// files are kept on a second run
	stale := filepath.Join(dir, typesDir, "vbwd.gone.lua")
	_ = os.WriteFile(stale, []byte("-- old"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"x": {}}`), 0o644)
	out, err = runCLI(t, context.Background(), "init", dir)
	if err != nil || !strings.Contains(out, "kept config.json") {
		t.Fatalf("second init: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(b) != `{"x": {}}` {
		t.Errorf("config.json was replaced: %s", b)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale stub was left")
	}
	if _, err := os.Stat(filepath.Join(dir, typesDir, "vbwd.time.lua")); err != nil {
		t.Error(err)
	}
	// and `plugin new` works in the new root
	if out, err := runNew(t, dir, "shop"); err != nil {
		t.Fatalf("plugin new in an init'ed root: %v\n%s", err, out)
	}
	checkLuarcFindsStubs(t, filepath.Join(dir, "plugins", "shop"))
}
