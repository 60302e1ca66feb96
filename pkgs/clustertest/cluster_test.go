// Package clustertest runs engines sharing one database with the pkgs
// planner wired, as vbwd serve does: installs through the admin API reach
// every node.
package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
	"github.com/vbwd-platform/vbwd-engine/pkgs"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

const token = "cluster-test-admin-token"

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

type node struct {
	eng  *engine.Engine
	srv  *httptest.Server
	root string
	stop func()
}

// startNode starts an engine on root and the shared database, serving it
// over loopback HTTP.
func startNode(t *testing.T, root, url, id string) *node {
	t.Helper()
	var pool *pgxpool.Pool // none: a single engine without a database
	if url != "" {
		var err error
		if pool, err = pgxpool.New(context.Background(), url); err != nil {
			t.Fatal(err)
		}
	}
	logs := &logBuf{}
	opts := engine.Options{Root: root, AdminToken: token, NodeID: id, PoolMin: 1, PoolMax: 2,
		RequestTimeout: 5 * time.Second, Packages: pkgs.Planner{},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if pool != nil {
		opts.DB = pool
	}
	e, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := &node{eng: e, srv: httptest.NewServer(e.Handler()), root: root}
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			n.srv.Close()
			_ = e.Shutdown(context.Background())
			if pool != nil {
				pool.Close()
			}
			if t.Failed() {
				t.Logf("%s log:\n%s", id, logs.b.String())
			}
		})
	}
	t.Cleanup(n.stop)
	return n
}

func (n *node) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, n.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, m
}

// greeting is GET /api/greet/ on a node: the version serving, "" when none.
func (n *node) greeting(t *testing.T) string {
	t.Helper()
	code, m := n.call(t, "GET", "/api/greet/", "")
	if code != 200 {
		return ""
	}
	v, _ := m["v"].(string)
	return v
}

func emptyRoot(t *testing.T) string {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// greetRepo is a git repository holding the greet plugin, tagged v1.0.0
// and v1.1.0; GET /api/greet/ answers its version.
func greetRepo(t *testing.T) string {
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		src := fmt.Sprintf(`local P = { name = "greet", version = %q, url_prefix = "/api/greet" }
function P.routes(r) r:get("/", function() return 200, { v = %q } end) end
return P
`, v, v)
		if err := os.WriteFile(filepath.Join(repo, "init.lua"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, repo, "add", "-A")
		git(t, repo, "commit", "-q", "-m", v)
		git(t, repo, "tag", "v"+v)
	}
	return repo
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestClusterInstall: an install through node A's admin API serves the
// plugin on node B, which never had its files, within 2 s, and both report
// the same hash; an update and a remove follow the same way.
func TestClusterInstall(t *testing.T) {
	url := pg.NewDatabase(t)
	repo := greetRepo(t)
	a := startNode(t, emptyRoot(t), url, "node-a")
	b := startNode(t, emptyRoot(t), url, "node-b")

	began := time.Now()
	code, res := a.call(t, "POST", "/admin/packages/install", `{"source": "`+repo+`@v1.0.0"}`)
	if code != 200 {
		t.Fatalf("install on a: %d %v", code, res)
	}
	// as TestCluster_Converges: from the moment node a answered (the plan —
	// git clone, manifest checks — ran on a before it)
	start := time.Now()
	for b.greeting(t) != "1.0.0" {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("node b does not serve greet 1.0.0 within 2 s of the install on a")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("node b serves greet %v after node a answered the install (%v after the request began)", time.Since(start), time.Since(began))
	if a.greeting(t) != "1.0.0" {
		t.Fatal("node a does not serve greet")
	}
	sameHash(t, a, b)

	code, res = a.call(t, "POST", "/admin/packages/update", `{}`)
	if code != 200 {
		t.Fatalf("update on a: %d %v", code, res)
	}
	waitFor(t, "node b to serve greet 1.1.0", 2*time.Second, func() bool { return b.greeting(t) == "1.1.0" })
	sameHash(t, a, b)

	code, res = b.call(t, "POST", "/admin/packages/remove", `{"names": ["greet"]}`)
	if code != 200 {
		t.Fatalf("remove on b: %d %v", code, res)
	}
	waitFor(t, "node a to stop serving greet", 2*time.Second, func() bool { return a.greeting(t) == "" })
	for _, n := range []*node{a, b} {
		if _, err := os.Stat(filepath.Join(n.root, "plugins", "greet")); err == nil {
			t.Fatalf("%s still has plugins/greet", n.root)
		}
	}
}

// sameHash: both nodes report greet with the same content hash, the one in
// each node's plugins.lock and on its disk.
func sameHash(t *testing.T, a, b *node) {
	t.Helper()
	waitFor(t, "both nodes to report greet's hash", 5*time.Second, func() bool {
		_, d := a.call(t, "GET", "/admin/plugins/greet", "")
		nodes, _ := d["nodes"].([]any)
		return len(nodes) == 2 && d["hash_mismatch"] == false
	})
	ha, hb := status(t, a).Hash, status(t, b).Hash
	for _, n := range []*node{a, b} {
		disk, err := archive.DirHash(filepath.Join(n.root, "plugins", "greet"))
		lock, lerr := pkgs.ReadLock(n.root)
		if err != nil || lerr != nil || disk != ha || lock.Plugins["greet"] == nil || lock.Plugins["greet"].Hash != ha {
			t.Fatalf("%s: disk %s, lock %+v, engine %s (%v %v)", n.root, disk, lock, ha, err, lerr)
		}
	}
	if ha == "" || ha != hb {
		t.Fatalf("hashes: a %q, b %q", ha, hb)
	}
}

func status(t *testing.T, n *node) engine.PluginStatus {
	st, ok := n.eng.Plugin("greet")
	if !ok {
		t.Fatalf("%s: no greet", n.root)
	}
	return st
}

// TestClusterHeals: a node whose package-managed plugin was edited by hand,
// and a node started after the install with no files at all, restore the
// plugin from the cluster's archive; a plugin that is not a package says
// why it cannot heal.
func TestClusterHeals(t *testing.T) {
	url := pg.NewDatabase(t)
	repo := greetRepo(t)
	a := startNode(t, emptyRoot(t), url, "node-a")
	b := startNode(t, emptyRoot(t), url, "node-b")
	if code, res := a.call(t, "POST", "/admin/packages/install", `{"source": "`+repo+`@v1.1.0"}`); code != 200 {
		t.Fatalf("install: %d %v", code, res)
	}
	waitFor(t, "node b to serve greet", 2*time.Second, func() bool { return b.greeting(t) == "1.1.0" })

	// b restarts with a hand-edited copy
	b.stop()
	file := filepath.Join(b.root, "plugins", "greet", "init.lua")
	src, _ := os.ReadFile(file)
	if err := os.WriteFile(file, []byte(strings.Replace(string(src), `v = "1.1.0"`, `v = "edited"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	b = startNode(t, b.root, url, "node-b")
	waitFor(t, "node b to restore greet", 5*time.Second, func() bool { return b.greeting(t) == "1.1.0" })
	kept, _ := filepath.Glob(filepath.Join(b.root, ".data", "replaced-plugins", "greet-*"))
	if len(kept) != 1 {
		t.Fatalf("the edited copy was not kept: %v", kept)
	}
	// c never had the files, and joins after the install
	c := startNode(t, emptyRoot(t), url, "node-c")
	waitFor(t, "node c to install greet", 5*time.Second, func() bool { return c.greeting(t) == "1.1.0" })

	// a hand-copied plugin differing between nodes: the mismatch says why
	for i, n := range []*node{a, c} {
		dir := filepath.Join(n.root, "plugins", "mine")
		_ = os.MkdirAll(dir, 0o755)
		src := fmt.Sprintf("return { name = \"mine\", version = \"1.0.0\" } -- %d\n", i)
		if err := os.WriteFile(filepath.Join(dir, "init.lua"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, res := n.call(t, "POST", "/admin/plugins/reload", ""); code != 200 {
			t.Fatalf("rescan: %d %v", code, res)
		}
	}
	waitFor(t, "the mismatch to say why", 5*time.Second, func() bool {
		_, d := a.call(t, "GET", "/admin/plugins/mine", "")
		heal, _ := d["heal"].(string)
		return d["hash_mismatch"] == true && strings.Contains(heal, "not installed as a package")
	})
}

// TestInstallWithoutDatabase: a single engine without a database installs
// through its admin API too (the archives stay in memory).
func TestInstallWithoutDatabase(t *testing.T) {
	repo := greetRepo(t)
	root := emptyRoot(t)
	if err := os.WriteFile(filepath.Join(root, "plugins.json"), []byte(`{"plugins": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, root, "", "solo")
	if code, res := a.call(t, "POST", "/admin/packages/install", `{"source": "`+repo+`@v1.0.0"}`); code != 200 || a.greeting(t) != "" {
		t.Fatalf("install without enable: %d %v (a plugins.json not naming it leaves it disabled)", code, res)
	}
	if code, res := a.call(t, "POST", "/admin/packages/install", `{"source": "`+repo+`", "enable": true}`); code != 200 {
		t.Fatalf("install: %d %v", code, res)
	}
	if v := a.greeting(t); v != "1.1.0" {
		t.Fatalf("serving %q, want the newest tag 1.1.0", v)
	}
	if code, res := a.call(t, "POST", "/admin/packages/remove", `{"names": ["greet"]}`); code != 200 || a.greeting(t) != "" {
		t.Fatalf("remove: %d %v", code, res)
	}
}

// TestClusterRefusesTamperedArchive: an archive altered in the database is
// not written to a node's plugins/; the node says why in its admin API.
func TestClusterRefusesTamperedArchive(t *testing.T) {
	url := pg.NewDatabase(t)
	repo := greetRepo(t)
	a := startNode(t, emptyRoot(t), url, "node-a")
	if code, res := a.call(t, "POST", "/admin/packages/install", `{"source": "`+repo+`"}`); code != 200 {
		t.Fatalf("install: %d %v", code, res)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `update vbwd.plugin_archives set data = data || '\x00'::bytea where name = 'greet'`); err != nil {
		t.Fatal(err)
	}
	c := startNode(t, emptyRoot(t), url, "node-c")
	// c also runs a plugin named greet of its own, so its admin API shows it
	dir := filepath.Join(c.root, "plugins", "greet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "init.lua"), []byte(`return { name = "greet", version = "0.0.1" }`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node c to refuse the tampered archive", 15*time.Second, func() bool {
		c.call(t, "POST", "/admin/plugins/reload", "")
		_, d := c.call(t, "GET", "/admin/plugins/greet", "")
		heal, _ := d["heal"].(string)
		return d["hash_mismatch"] == true && strings.Contains(heal, "this node cannot restore it") && strings.Contains(heal, "refused")
	})
	if v := c.greeting(t); v != "" {
		t.Fatalf("node c serves %q from a tampered archive", v)
	}
}
