package main

import (
	"bytes"
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
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "DATABASE_URL="+pg.NewDatabase(t))
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
