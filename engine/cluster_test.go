package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func clusterRoot(t *testing.T) string {
	return writeRoot(t, files{
		"plugins.json":           `{"plugins": {"svc": {"enabled": true}, "other": {"enabled": true}}}`,
		"plugins/svc/init.lua":   pluginSrc("svc", "", "local V = 1\n"+`function P.routes(r) r:get("/", function() return 200, { v = V } end) end`),
		"plugins/other/init.lua": pluginSrc("other", "", `function P.routes(r) r:get("/", function() return 200, {} end) end`),
	})
}

// TestCluster_Converges: two engines on one database; a reload on one is
// applied by the other from its own disk within 2 s, and the admin API shows
// both nodes' hashes.
func TestCluster_Converges(t *testing.T) {
	_, url := newDB(t)
	root := clusterRoot(t)
	a := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-a" })
	b := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-b" })
	file := filepath.Join(root, "plugins/svc/init.lua")
	src, _ := os.ReadFile(file)
	writeAtomic(t, file, strings.Replace(string(src), "local V = 1", "local V = 2", 1))
	if r := a.admin(t, "POST", "/admin/plugins/svc/reload", ""); r.status != 200 || r.json["status"] != "reloaded" {
		t.Fatalf("reload on a: %d %s", r.status, r.body)
	}
	start := time.Now()
	for b.do(t, "GET", "/api/svc/", "").json["v"] != float64(2) {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("node b did not apply the reload within 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("node b converged in %v", time.Since(start))
	eventually(t, "both nodes to report the new hash", func() bool {
		r := a.admin(t, "GET", "/admin/plugins/svc", "")
		return len(r.json["nodes"].([]any)) == 2 && r.json["hash_mismatch"] == false
	})
	// disable on b: a follows, and persists it (same disk here).
	if r := b.admin(t, "POST", "/admin/plugins/other/disable", ""); r.status != 200 {
		t.Fatalf("disable on b: %d %s", r.status, r.body)
	}
	eventually(t, "node a to disable other", func() bool { return a.do(t, "GET", "/api/other/", "").status == 404 })
}

// TestCluster_HashMismatch: two nodes with different files on disk: after a
// reload on one, the admin API shows the mismatch.
func TestCluster_HashMismatch(t *testing.T) {
	_, url := newDB(t)
	rootA, rootB := clusterRoot(t), clusterRoot(t)
	a := startEngine(t, rootA, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-a" })
	startEngine(t, rootB, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-b" })
	file := filepath.Join(rootA, "plugins/svc/init.lua")
	src, _ := os.ReadFile(file)
	writeAtomic(t, file, strings.Replace(string(src), "local V = 1", "local V = 3", 1))
	if r := a.admin(t, "POST", "/admin/plugins/svc/reload", ""); r.status != 200 {
		t.Fatalf("reload on a: %d %s", r.status, r.body)
	}
	eventually(t, "the mismatch to show", func() bool {
		r := a.admin(t, "GET", "/admin/plugins/svc", "")
		nodes, _ := r.json["nodes"].([]any)
		return len(nodes) == 2 && r.json["hash_mismatch"] == true
	})
}
