package engine

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clusterChildEnv makes the test binary run TestCluster_Child: a second
// engine process serving HTTP on one database with the parent.
const clusterChildEnv = "VBWD_CLUSTER_CHILD"

type clusterChild struct{ URL, Root, AddrFile string }

// TestCluster_TwoProcesses: two engine processes on one database; a reload
// made on one reaches the other within 2 s.
func TestCluster_TwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	_, url := newDB(t)
	root := clusterRoot(t)
	addrFile := filepath.Join(t.TempDir(), "addr")
	startChild(t, "TestCluster_Child", clusterChildEnv, clusterChild{URL: url, Root: root, AddrFile: addrFile})
	a := startEngine(t, root, func(o *Options) { o.DB = openPool(t, url); o.AdminToken = adminToken; o.NodeID = "node-a" })
	var childURL string
	eventually(t, "the child engine to serve", func() bool {
		b, err := os.ReadFile(addrFile)
		if err != nil || len(b) == 0 {
			return false
		}
		childURL = "http://" + string(b)
		resp, err := http.Get(childURL + "/api/svc/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	file := filepath.Join(root, "plugins/svc/init.lua")
	src, _ := os.ReadFile(file)
	writeAtomic(t, file, strings.Replace(string(src), "local V = 1", "local V = 2", 1))
	if r := a.admin(t, "POST", "/admin/plugins/svc/reload", ""); r.status != 200 || r.json["status"] != "reloaded" {
		t.Fatalf("reload on a: %d %s", r.status, r.body)
	}
	start := time.Now()
	for {
		var m map[string]any
		if resp, err := http.Get(childURL + "/api/svc/"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
		}
		if m["v"] == float64(2) {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("the other process did not apply the reload within 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the other process converged in %v", time.Since(start))
	eventually(t, "both processes to report the same hash", func() bool {
		r := a.admin(t, "GET", "/admin/plugins/svc", "")
		nodes, _ := r.json["nodes"].([]any)
		return len(nodes) == 2 && r.json["hash_mismatch"] == false
	})
}

// TestCluster_Child is the second process of TestCluster_TwoProcesses.
func TestCluster_Child(t *testing.T) {
	raw := os.Getenv(clusterChildEnv)
	if raw == "" {
		t.Skip("helper process of TestCluster_TwoProcesses")
	}
	var spec clusterChild
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, spec.Root, func(o *Options) { o.DB = openPool(t, spec.URL); o.NodeID = "node-b" })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = http.Serve(ln, te.Handler()) }()
	if err := os.WriteFile(spec.AddrFile, []byte(ln.Addr().String()), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // until the parent kills it
}
