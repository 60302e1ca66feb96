package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// writeAtomic replaces a file the way a deploy or an editor does.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func liveFiles(v int) (initLua, versionLua string) {
	initLua = fmt.Sprintf(`local version = require("live.version")
local P = { name = "live", version = "1.0.%d", url_prefix = "/api/live" }
local V = "%d"
function P.routes(r)
  r:get("/", function()
    local n = 0
    for i = 1, 200 do n = n + i end
    return 200, { a = V, b = version }
  end)
end
return P
`, v, v)
	return initLua, fmt.Sprintf("return \"%d\"\n", v)
}

// TestReload_UnderLoad reloads a plugin 50 times (half of them with a broken
// file) while clients hammer its route: no request fails or is dropped,
// every response comes from one complete generation, broken reloads answer
// 422 with file:line and the previous generation keeps serving.
func TestReload_UnderLoad(t *testing.T) {
	initLua, versionLua := liveFiles(0)
	root := writeRoot(t, files{"plugins/live/init.lua": initLua, "plugins/live/live/version.lua": versionLua})
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken; o.PoolMin = 2; o.PoolMax = 4 })
	var (
		stop              atomic.Bool
		ok, bad, requests atomic.Int64
		served            sync.Map // versions seen
		wg                sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load() && n < 100000; n++ {
				requests.Add(1)
				r := te.do(t, "GET", "/api/live/", "")
				a, _ := r.json["a"].(string)
				if r.status != 200 || a == "" || a != r.json["b"] {
					bad.Add(1)
					t.Errorf("request: %d %s", r.status, r.body)
					continue
				}
				served.Store(a, true)
				ok.Add(1)
			}
		}()
	}
	loaded := map[string]bool{"0": true}
	for i := 1; i <= 50; i++ {
		if i%2 == 0 {
			writeAtomic(t, filepath.Join(root, "plugins/live/init.lua"), "local P = {\n  name = 'live',\n  version = '1.0.0'\n  oops\n}\nreturn P\n")
			r := te.admin(t, "POST", "/admin/plugins/live/reload", "")
			if r.status != 422 || r.json["file"] != "plugins/live/init.lua" || r.json["line"] != float64(4) {
				t.Errorf("broken reload %d: %d %s", i, r.status, r.body)
			}
			continue
		}
		initLua, versionLua := liveFiles(i)
		writeAtomic(t, filepath.Join(root, "plugins/live/live/version.lua"), versionLua)
		writeAtomic(t, filepath.Join(root, "plugins/live/init.lua"), initLua)
		r := te.admin(t, "POST", "/admin/plugins/live/reload", "")
		if r.status != 200 || r.json["status"] != "reloaded" {
			t.Errorf("reload %d: %d %s", i, r.status, r.body)
		}
		loaded[fmt.Sprint(i)] = true
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 || ok.Load() != requests.Load() {
		t.Errorf("%d of %d requests failed", bad.Load(), requests.Load())
	}
	served.Range(func(k, _ any) bool {
		if !loaded[k.(string)] {
			t.Errorf("a response came from version %v, which was never loaded", k)
		}
		return true
	})
	if st := te.status(t, "live"); st.Generation != 26 || st.State != StateEnabled {
		t.Errorf("after 25 good reloads: generation %d, state %s", st.Generation, st.State)
	}
	t.Logf("%d requests served during 50 reloads", requests.Load())
}
