package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

// copyPlugin copies a shipped plugin into root/plugins.
func copyPlugin(t *testing.T, name, root string) {
	t.Helper()
	src := filepath.Join("..", "..", "plugins", name)
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(root, "plugins", name, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyHello lays out a root with the shipped hello plugin, plus extra files.
func copyHello(t *testing.T, extra map[string]string) string {
	t.Helper()
	root := t.TempDir()
	copyPlugin(t, "hello", root)
	files := map[string]string{"plugins.json": `{"plugins": {"hello": {"enabled": true}}}`}
	for k, v := range extra {
		files[k] = v
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runCLI runs vbwd with args and returns its stdout.
func runCLI(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

// serveUntil runs `vbwd serve` in the background until the returned stop is
// called; stop returns serve's error.
func serveUntil(t *testing.T, root string, extra ...string) (base string, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := runCLI(t, ctx, append([]string{"serve", "--root", root, "--addr", addr, "--log-level", "warn"}, extra...)...)
		errc <- err
	}()
	base = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("serve exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("serve did not come up within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, func() error { cancel(); return <-errc }
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode, m
}

func TestServe_EmbeddedDefaultDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	root := copyHello(t, nil)
	// t.TempDir makes 0700 directories; open them so the postgres user can
	// reach <root>/.data (else pgdev falls back to a temp dir, tested there).
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base, stop := serveUntil(t, root)
	if code, m := getJSON(t, base+"/api/v1/hello/world"); code != 200 || m["message"] != "Hello, world!" {
		t.Errorf("hello: %d %v", code, m)
	}
	if code, m := getJSON(t, base+"/readyz"); code != 200 {
		t.Errorf("readyz: %d %v", code, m)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// The embedded cluster lives under the root and is stopped on shutdown.
	if _, err := os.Stat(filepath.Join(root, ".data", "postgres", "PG_VERSION")); err != nil {
		t.Errorf("no cluster under .data/postgres: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, ".data", "postgres", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("the embedded PostgreSQL is still running after shutdown (postmaster.pid: %v)", err)
	}
}

func TestServe_DatabaseURL(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	root := copyHello(t, map[string]string{"config.json": `{"hello": {"greeting": "Moin"}}`})
	base, stop := serveUntil(t, root)
	if code, m := getJSON(t, base+"/api/v1/hello/world"); code != 200 || m["message"] != "Moin, world!" {
		t.Errorf("hello: %d %v", code, m)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// .data/ itself holds the engine's signing key (issuer-ed25519.pem)
	if _, err := os.Stat(filepath.Join(root, ".data", "postgres")); !os.IsNotExist(err) {
		t.Errorf("with DATABASE_URL no embedded cluster must be made: %v", err)
	}
}

func TestPluginList(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_ADMIN_TOKEN", "list-token")
	root := copyHello(t, map[string]string{
		"plugins.json": `{"plugins": {"hello": {"enabled": true}, "broken": {"enabled": true}, "child": {"enabled": true},
			"orphan": {"enabled": true}, "typo": {"enabled": true}, "off": {"enabled": false}}}`,
		"plugins/broken/init.lua": "return { name = \"broken\", version = \"1.0.0\",\n  initialize = function() error(\"cannot start\") end }",
		"plugins/child/init.lua":  `return { name = "child", version = "2.0.0", dependencies = { "broken@^1" } }`,
		"plugins/orphan/init.lua": `return { name = "orphan", version = "1.0.0", dependencies = { "ghost" } }`,
		"plugins/typo/init.lua":   "return { name = \"typo\",\n  version = 1 + }",
		"plugins/off/init.lua":    `return { name = "off", version = "0.1.0" }`,
	})
	// From disk: what loads and resolves; a load error with file:line.
	out, err := runCLI(t, context.Background(), "plugin", "list", "--root", root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"NAME", "hello", "1.0.0", "enabled",
		"broken", "child", "broken@^1", "off", "disabled",
		"orphan", "ghost is not installed", "typo failed", "plugins/typo/init.lua:2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plugin list lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, context.Background(), "plugin", "list", "--json", "--root", root)
	if err != nil {
		t.Fatal(err)
	}
	var st []map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 6 {
		t.Fatalf("--json: %v %s", err, out)
	}
	// --live: the states of a running engine, initialize's failure included.
	base, stop := serveUntil(t, root)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	out, err = runCLI(t, context.Background(), "plugin", "list", "--live", "--addr", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"broken", "failed", "plugins/broken/init.lua:2", "cannot start", "child -> broken", "hello   "} {
		if !strings.Contains(out, want) {
			t.Errorf("plugin list --live lacks %q:\n%s", want, out)
		}
	}
}

// TestPluginList_ReadOnly: listing a fresh root starts no database (no
// .data directory), applies no migrations and writes nothing.
func TestPluginList_ReadOnly(t *testing.T) {
	for _, withURL := range []bool{false, true} {
		url := ""
		if withURL {
			url = pg.NewDatabase(t)
		}
		t.Setenv("DATABASE_URL", url)
		root := copyHello(t, nil)
		copyPlugin(t, "notes", root) // has migrations
		// Reachable by the postgres user, so that the old behaviour (an
		// embedded cluster) would show under <root>/.data.
		for _, d := range []string{root, filepath.Dir(root)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(root, "plugins.json"), []byte(`{"plugins": {"hello": {"enabled": true}, "notes": {"enabled": true}}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		before := treeOf(t, root)
		out, err := runCLI(t, context.Background(), "plugin", "list", "--root", root)
		if err != nil || !strings.Contains(out, "notes") {
			t.Fatalf("plugin list: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(root, ".data")); !os.IsNotExist(err) {
			t.Errorf("DATABASE_URL=%q: plugin list made %s/.data (%v)", url, root, err)
		}
		if after := treeOf(t, root); after != before {
			t.Errorf("plugin list changed the root:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if withURL {
			db, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			err = db.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&n)
			_ = db.Close(context.Background())
			if err != nil || n != 0 {
				t.Errorf("plugin list created %d tables (migrations or engine bookkeeping): %v", n, err)
			}
		}
	}
}

// treeOf lists the files under root with their sizes.
func treeOf(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			fmt.Fprintf(&b, "%s %d\n", p, info.Size())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRootFlag_BadRoot(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	root := t.TempDir()
	_, err := runCLI(t, context.Background(), "plugin", "list", "--root", root)
	if err == nil || !strings.Contains(err.Error(), "no plugins/ directory") {
		t.Errorf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, ".data")); !os.IsNotExist(err) {
		t.Errorf("a database was made under a directory that is not an engine root")
	}
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, context.Background(), "version")
	if err != nil || !strings.HasPrefix(out, "vbwd ") || !strings.Contains(out, "gopher-lua") {
		t.Errorf("version: %q %v", out, err)
	}
}

func TestServe_DemoTokens(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_JWT_SECRET", "demo-secret")
	root := copyHello(t, nil)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	done := make(chan error, 1)
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"serve", "--root", root, "--addr", addr, "--log-level", "error", "--demo-tokens"})
		done <- cmd.ExecuteContext(ctx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "demo-alice  (subscriber): ey") || !strings.Contains(out.String(), "demo-admin  (admin): ey") ||
		!strings.Contains(out.String(), "demo-ops    (vbwd-admin): ey") {
		t.Errorf("demo tokens:\n%s", out.String())
	}
}
