package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// TestCluster_ConflictingChangesConverge: two nodes with their own disks
// are given a disable and an enable of the same plugin at the same moment;
// applying the change log in one order on every node (the originating one
// included), they end in the same state with the same plugins.json.
func TestCluster_ConflictingChangesConverge(t *testing.T) {
	_, url := newDB(t)
	rootA, rootB := clusterRoot(t), clusterRoot(t)
	a := startEngine(t, rootA, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-a" })
	b := startEngine(t, rootB, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-b" })
	for round := 0; round < 6; round++ {
		first, second := a, b
		if round%2 == 1 {
			first, second = b, a
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); first.admin(t, "POST", "/admin/plugins/other/disable", "") }()
		go func() { defer wg.Done(); second.admin(t, "POST", "/admin/plugins/other/enable", "") }()
		wg.Wait()
		var last int64
		if err := a.opts.DB.QueryRow(context.Background(), "select max(id) from vbwd.admin_changes").Scan(&last); err != nil {
			t.Fatal(err)
		}
		eventually(t, "both nodes to apply the whole log", func() bool {
			ia, _ := readAppliedChange(rootA)
			ib, _ := readAppliedChange(rootB)
			return ia == last && ib == last
		})
		sa, sb := a.status(t, "other").State, b.status(t, "other").State
		ja, _ := os.ReadFile(filepath.Join(rootA, "plugins.json"))
		jb, _ := os.ReadFile(filepath.Join(rootB, "plugins.json"))
		if sa != sb || string(ja) != string(jb) {
			t.Fatalf("round %d: node a %s, node b %s; plugins.json\n%s\n%s", round, sa, sb, ja, jb)
		}
	}
}

// TestCluster_CatchesUpOnStart: a node that was down while changes were
// made applies them from the log when it starts again.
func TestCluster_CatchesUpOnStart(t *testing.T) {
	_, url := newDB(t)
	rootA, rootB := clusterRoot(t), clusterRoot(t)
	a := startEngine(t, rootA, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-a" })
	b := startEngine(t, rootB, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-b" })
	if r := a.admin(t, "POST", "/admin/plugins/svc/reload", ""); r.status != 200 {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	eventually(t, "node b to apply the first change", func() bool {
		_, ok := readAppliedChange(rootB)
		return ok
	})
	b.srv.Close()
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := a.admin(t, "POST", "/admin/plugins/other/disable", ""); r.status != 200 {
		t.Fatalf("disable while b is down: %d %s", r.status, r.body)
	}
	b2 := startEngine(t, rootB, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-b2" })
	eventually(t, "the restarted node to catch up", func() bool { return b2.status(t, "other").State == StateDisabled })
}
