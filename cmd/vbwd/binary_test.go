package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinary_EndToEnd builds the vbwd binary and uses it as an integrator
// would: plugin new, test (passing, then failing with exit code 1), serve.
func TestBinary_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "vbwd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := filepath.Join(t.TempDir(), "myapp") // only the binary: no checkout, no stdlib/types
	env := append(os.Environ(), "DATABASE_URL="+pg.NewDatabase(t))
	initCmd := exec.Command(bin, "init", root)
	initCmd.Dir = t.TempDir()
	if out, err := initCmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "created plugins.json") {
		t.Fatalf("vbwd init: %v\n%s", err, out)
	}
	vbwd := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append(args, "--root", root)...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), 0
	}
	if out, code := vbwd("plugin", "new", "inventory"); code != 0 {
		t.Fatalf("plugin new: %d\n%s", code, out)
	}
	if out, code := vbwd("test", "inventory"); code != 0 || !strings.Contains(out, "passed, 0 failed") {
		t.Fatalf("test: %d\n%s", code, out)
	}
	checkLuarcFindsStubs(t, filepath.Join(root, "plugins", "inventory"))
	typesOut := filepath.Join(t.TempDir(), "types")
	if out, code := vbwd("types", "--dir", typesOut); code != 0 {
		t.Fatalf("types --dir: %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(typesOut, "vbwd.db_types.lua")); err != nil {
		t.Errorf("vbwd types --dir wrote no vbwd.db_types.lua: %v", err)
	}
	failing := filepath.Join(root, "plugins", "inventory", "tests", "zz_test.lua")
	_ = os.WriteFile(failing, []byte("local t = require('vbwd.test')\nt.test('fails', function() t.eq(1, 2) end)\n"), 0o644)
	if out, code := vbwd("test", "inventory"); code != 1 || !strings.Contains(out, "1 failed") || !strings.Contains(out, "zz_test.lua:2") {
		t.Errorf("failing test: exit %d\n%s", code, out)
	}
	_ = os.Remove(failing)

	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--root", root, "--addr", addr)
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/v1/inventory/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("scaffolded route: %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer within 30s:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve exited with %v after SIGTERM:\n%s", err, logs.String())
	}
}

// checkLuarcFindsStubs resolves the library of a plugin's .luarc.json from
// the plugin directory and checks that the stubs are there.
func checkLuarcFindsStubs(t *testing.T, pluginDir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pluginDir, ".luarc.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rc struct {
		Workspace struct{ Library []string } `json:"workspace"`
	}
	if err := json.Unmarshal(b, &rc); err != nil || len(rc.Workspace.Library) == 0 {
		t.Fatalf(".luarc.json: %v %s", err, b)
	}
	for _, lib := range rc.Workspace.Library {
		for _, f := range []string{"vbwd.db.lua", "vbwd.router.lua", "vbwd.db_types.lua"} {
			if _, err := os.Stat(filepath.Join(pluginDir, lib, f)); err != nil {
				t.Errorf(".luarc.json library %q has no %s: %v", lib, f, err)
			}
		}
	}
}
