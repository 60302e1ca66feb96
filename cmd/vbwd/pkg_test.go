package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginPackages: the CLI round trip a publisher and an operator make —
// keygen, pack (signed) into a directory that is the index, install by name
// into a root trusting the key, list (source vs local), verify, remove.
func TestPluginPackages(t *testing.T) {
	ctx := context.Background()
	pub := copyHello(t, nil) // the publisher's root
	dist := filepath.Join(t.TempDir(), "dist")
	key := filepath.Join(t.TempDir(), "sign.key")
	out, err := runCLI(t, ctx, "plugin", "keygen", "--out", key)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	pubKey := lines[len(lines)-1]
	if out, err = runCLI(t, ctx, "plugin", "pack", "hello", "--root", pub, "--out", dist, "--sign-key", key); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "packed hello 1.0.0") || !strings.Contains(out, "(signed)") {
		t.Fatalf("pack: %s", out)
	}

	root := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("plugins/mine/init.lua", `return { name = "mine", version = "0.1.0" }`)
	write("plugins.json", `{"plugins": {"mine": {"enabled": true}}}`)
	write("config.json", `{"vbwd": {"packages": {"indexes": ["`+filepath.Join(dist, "index.json")+`"], "trusted_keys": ["`+pubKey+`"]}}}`)
	if out, err = runCLI(t, ctx, "plugin", "search", "--root", root, "hel"); err != nil || !strings.Contains(out, "hello") {
		t.Fatalf("search: %v %s", err, out)
	}
	if out, err = runCLI(t, ctx, "plugin", "install", "hello", "--enable", "--root", root); err != nil {
		t.Fatalf("install: %v %s", err, out)
	}
	if !strings.Contains(out, "installed hello 1.0.0 from index") {
		t.Fatalf("install: %s", out)
	}
	pj, _ := os.ReadFile(filepath.Join(root, "plugins.json"))
	if !strings.Contains(string(pj), `"hello"`) {
		t.Fatalf("--enable did not enable hello: %s", pj)
	}
	if out, err = runCLI(t, ctx, "plugin", "verify", "--root", root); err != nil || !strings.Contains(out, "mine") {
		t.Fatalf("verify: %v %s", err, out)
	}
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	if out, err = runCLI(t, ctx, "plugin", "list", "--root", root); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = strings.Join(f, " ")
		}
	}
	for _, want := range []string{"NAME VERSION STATE SOURCE DEPENDENCIES", "hello 1.0.0 enabled index -", "mine 0.1.0 enabled local -"} {
		if rows[strings.Fields(want)[0]] != want {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if out, err = runCLI(t, ctx, "plugin", "remove", "hello", "--root", root); err != nil || !strings.Contains(out, "removed hello 1.0.0") {
		t.Fatalf("remove: %v %s", err, out)
	}
}

// TestRemotePackages: `vbwd plugin install|update|remove --remote` go
// through a running engine's admin API (serve wires the pkgs planner).
func TestRemotePackages(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_ADMIN_TOKEN", "tok-123")
	ctx := context.Background()
	pub := copyHello(t, nil)
	dist := filepath.Join(t.TempDir(), "dist")
	if _, err := runCLI(t, ctx, "plugin", "pack", "hello", "--root", pub, "--out", dist); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := serveRemote(t, root)
	addr := strings.TrimPrefix(base, "http://")
	out, err := runCLI(t, ctx, "plugin", "install", "--remote", "--addr", addr, filepath.Join(dist, "hello-1.0.0.tar.gz"))
	if err != nil || !strings.Contains(out, `"status": "applied"`) {
		t.Fatalf("install --remote: %v %s", err, out)
	}
	if resp, err := http.Get(base + "/api/v1/hello/world"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("hello after a remote install: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if out, err = runCLI(t, ctx, "plugin", "update", "--remote", "--addr", addr); err != nil || !strings.Contains(out, "pinned to an archive") {
		t.Fatalf("update --remote: %v %s", err, out)
	}
	if _, err = runCLI(t, ctx, "plugin", "remove", "--remote", "--addr", addr, "nope"); err == nil || !strings.Contains(err.Error(), "nope is not installed (HTTP 422)") {
		t.Fatalf("remove of an unknown plugin: %v", err)
	}
	if out, err = runCLI(t, ctx, "plugin", "remove", "--remote", "--addr", addr, "hello"); err != nil || !strings.Contains(out, `"removed"`) {
		t.Fatalf("remove --remote: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "plugins", "hello")); err == nil {
		t.Fatal("plugins/hello is still there")
	}
}
