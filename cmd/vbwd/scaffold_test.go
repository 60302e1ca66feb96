package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runNew runs `vbwd plugin new` in root: through the real command tree when
// the command is registered there, else on its own.
func runNew(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	if c, _, err := newRootCmd().Find([]string{"plugin", "new"}); err == nil && c.Name() == "new" {
		return runCLI(t, context.Background(), append([]string{"plugin", "new", "--root", root}, args...)...)
	}
	cmd := newPluginNewCmd(&globals{root: root, logLevel: "info", logFormat: "text"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func readJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not valid JSON: %v\n%s", file, err, b)
	}
	return m
}

// scaffoldedFiles are the files `vbwd plugin new inventory` makes, except the
// migration, whose name has a timestamp.
var scaffoldedFiles = []string{
	"init.lua", "inventory/items.lua", "config.json", "admin-config.json", "populate.lua",
	"tests/inventory_test.lua", "README.md", ".luarc.json",
}

func TestPluginNew(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	root := copyHello(t, map[string]string{
		"plugins.json": `{"plugins": {"hello": {"enabled": true, "source": "shipped"}}, "note": "kept"}`,
		"config.json":  `{"hello": {"greeting": "Moin"}}`,
	})
	out, err := runNew(t, root, "inventory")
	if err != nil {
		t.Fatalf("plugin new: %v\n%s", err, out)
	}
	dir := filepath.Join(root, "plugins", "inventory")
	for _, f := range scaffoldedFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
		if !strings.Contains(out, "created plugins/inventory/"+f+"\n") {
			t.Errorf("output does not list %s:\n%s", f, out)
		}
	}
	migs, _ := filepath.Glob(filepath.Join(dir, "migrations", "*_create_inventory_items.sql"))
	if len(migs) != 1 {
		t.Fatalf("migrations: %v", migs)
	}
	checkRegistered(t, root)
	if leftovers, _ := filepath.Glob(filepath.Join(root, ".*")); len(leftovers) > 0 {
		t.Errorf("temporary files left in the root: %v", leftovers)
	}

	t.Run("luacheck", func(t *testing.T) { luacheckClean(t, dir) })

	base, stop := serveUntil(t, root, "--populate")
	if code, m := getJSON(t, base+"/api/v1/inventory/"); code != 200 || m["plugin"] != "inventory" || m["message"] == nil {
		t.Errorf("GET /: %d %v", code, m)
	}
	code, m := getJSON(t, base+"/api/v1/inventory/items")
	items, _ := m["items"].([]any)
	if code != 200 || len(items) != 2 {
		t.Errorf("GET /items (migrated and populated): %d %v", code, m)
	}
	if code, m := getJSON(t, base+"/api/v1/inventory/items?limit=0"); code != 422 {
		t.Errorf("GET /items?limit=0: %d %v", code, m)
	}
	if code, m := getJSON(t, base+"/api/v1/hello/world"); code != 200 || m["message"] != "Moin, world!" {
		t.Errorf("hello, with its config kept: %d %v", code, m)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}

	out, err = runCLI(t, context.Background(), "plugin", "list", "--json", "--root", root)
	if err != nil {
		t.Fatal(err)
	}
	var st []map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range st {
		if p["name"] == "inventory" {
			found = true
			if p["state"] != "enabled" || p["version"] != "0.1.0" {
				t.Errorf("plugin list: %v", p)
			}
		}
	}
	if !found {
		t.Errorf("plugin list lacks inventory:\n%s", out)
	}
}

func checkRegistered(t *testing.T, root string) {
	t.Helper()
	pj := readJSON(t, filepath.Join(root, "plugins.json"))
	plugins, _ := pj["plugins"].(map[string]any)
	hello, _ := plugins["hello"].(map[string]any)
	inv, _ := plugins["inventory"].(map[string]any)
	if pj["note"] != "kept" || hello["enabled"] != true || hello["source"] != "shipped" || inv["enabled"] != true {
		t.Errorf("plugins.json: %v", pj)
	}
	cfg := readJSON(t, filepath.Join(root, "config.json"))
	helloCfg, _ := cfg["hello"].(map[string]any)
	invCfg, ok := cfg["inventory"].(map[string]any)
	if helloCfg["greeting"] != "Moin" || !ok || len(invCfg) != 0 {
		t.Errorf("config.json: %v", cfg)
	}
}

// luacheckClean runs luacheck with the repository's .luacheckrc over dir.
func luacheckClean(t *testing.T, dir string) {
	if _, err := exec.LookPath("luacheck"); err != nil {
		t.Skip("luacheck is not installed (Debian: apt-get install lua-check)")
	}
	rc, err := filepath.Abs(filepath.Join("..", "..", ".luacheckrc"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("luacheck", "--config", rc, "--no-color", "--formatter", "plain", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("luacheck found problems in the scaffold: %v\n%s", err, out)
	}
}

func TestPluginNew_Refusals(t *testing.T) {
	root := copyHello(t, nil)
	before, _ := os.ReadFile(filepath.Join(root, "plugins.json"))
	for _, tc := range []struct{ name, want string }{
		{"Inventory", "bad plugin name"},
		{"1st", "bad plugin name"},
		{"my-plugin", "bad plugin name"},
		{"_x", "bad plugin name"},
		{strings.Repeat("a", 65), "bad plugin name"},
		{"vbwd", "host modules"},
		{"hello", "plugins/hello already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runNew(t, root, tc.name)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := runNew(t, root); err == nil {
		t.Error("no name: accepted")
	}
	after, _ := os.ReadFile(filepath.Join(root, "plugins.json"))
	if !bytes.Equal(before, after) {
		t.Errorf("a refused scaffold changed plugins.json:\n%s", after)
	}
	if _, err := os.Stat(filepath.Join(root, "config.json")); !os.IsNotExist(err) {
		t.Errorf("a refused scaffold made config.json: %v", err)
	}

	t.Run("broken plugins.json", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, "plugins.json"), []byte(`{"plugins": `), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := runNew(t, root, "fresh")
		if err == nil || !strings.Contains(err.Error(), "plugins.json") {
			t.Errorf("got %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "plugins", "fresh")); !os.IsNotExist(err) {
			t.Errorf("plugins/fresh was made although plugins.json is broken: %v", err)
		}
	})
	t.Run("not an engine root", func(t *testing.T) {
		_, err := runNew(t, t.TempDir(), "fresh")
		if err == nil || !strings.Contains(err.Error(), "no plugins/ directory") {
			t.Errorf("got %v", err)
		}
	})
}

// Without a plugins.json every plugin is enabled; the file the scaffold
// writes keeps the others enabled.
func TestPluginNew_NoPluginsJSON(t *testing.T) {
	root := copyHello(t, nil)
	if err := os.Remove(filepath.Join(root, "plugins.json")); err != nil {
		t.Fatal(err)
	}
	out, err := runNew(t, root, "shop")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	pj := readJSON(t, filepath.Join(root, "plugins.json"))
	plugins, _ := pj["plugins"].(map[string]any)
	for _, n := range []string{"hello", "shop"} {
		if e, _ := plugins[n].(map[string]any); e["enabled"] != true {
			t.Errorf("%s not enabled: %v", n, pj)
		}
	}
	if !strings.Contains(out, "enabling hello, shop") {
		t.Errorf("output: %s", out)
	}
}
