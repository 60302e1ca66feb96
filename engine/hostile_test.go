package engine

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// The hostile corpus (issue 10): plugins in testdata/hostile attack the
// sandbox, the namespaces and the engine's encoders; each case asserts a
// clean refusal and that the process still serves the other plugins
// exactly as before. The cases are in hostile_cases_test.go; those that
// need fixes not merged yet are in hostile_pending_test.go and run with
// VBWD_HOSTILE_PENDING=1.

// hostileCase is one attack: an HTTP request (after prep requests that must
// answer 200), or a plugin that must have failed to load.
type hostileCase struct {
	name   string
	prep   []string // GET paths run first; each must answer 200
	method string   // GET when empty
	path   string
	send   string            // request body
	header map[string]string // request headers; "$token:<name>" values are replaced by a minted JWT
	status int               // exact status, or 4 / 5 for any 4xx / 5xx
	want   string            // regexp the response body must match
	unwant string            // regexp the response body must not match
	log    string            // regexp the engine's log lines of this request must match
	within time.Duration     // when set, the answer must come within this long
	check  func(t *testing.T, r hostileResult)

	plugin string // load-time case: this plugin must be failed with an error matching err
	err    string
	absent bool // load-time case: the plugin must not even be discovered
}

type hostileResult struct {
	status int
	header http.Header
	body   string
	log    string // the engine's log lines carrying this request's id
}

// Shorthands for the common shapes of case.

// luaErr: the probe raises; the engine answers 500 "internal" and logs the
// error with the probe's file:line.
func luaErr(probe, log string) hostileCase {
	return hostileCase{name: probe, path: "/api/attacker/call/" + probe, status: 500,
		want: `"error":"internal"`, log: log}
}

// deadline: the probe never ends; the short route deadline answers 504.
func deadline(probe string) hostileCase {
	return hostileCase{name: probe, path: "/api/attacker/slow/" + probe, status: 504,
		want: "handler exceeded its deadline"}
}

// refusedWith: the probe raises a status error.
func refusedWith(probe string, status int, want string) hostileCase {
	return hostileCase{name: probe, path: "/api/attacker/call/" + probe, status: status, want: want}
}

func failedPlugin(plugin, err string) hostileCase {
	return hostileCase{name: "load/" + plugin, plugin: plugin, err: err}
}

const hostileSecret = "hostile-jwt-secret"
const hostileAdminToken = "hostile-admin-token"

func TestHostile(t *testing.T) {
	pending := os.Getenv("VBWD_HOSTILE_PENDING") != "0" // on by default since the fixes landed
	cases := hostileCases()
	if len(cases) < 60 {
		t.Fatalf("the corpus has %d cases, issue 10 asks for at least 60", len(cases))
	}
	if pending {
		cases = append(cases, hostilePendingCases()...)
	}
	root := hostileRoot(t, pending)
	pool, _ := newDB(t)
	te := startEngine(t, root, func(o *Options) {
		o.DB = pool
		o.JWTSecret = hostileSecret
		o.AdminToken = hostileAdminToken
		o.RequestTimeout = 2 * time.Second
		if raceEnabled {
			// the memory bombs reach their budget several times slower
			// under the race detector: let them, rather than the deadline,
			// end the call
			o.RequestTimeout = 10 * time.Second
		}
	})
	h := &hostileRun{te: te, client: &http.Client{Timeout: 20 * time.Second}}
	baseline := h.serving(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.run(t, i, c)
			if got := h.serving(t); got != baseline {
				t.Errorf("after the attack the other plugins answer\n%s\nwant\n%s", got, baseline)
			}
		})
	}
}

type hostileRun struct {
	te     *testEngine
	client *http.Client
}

// serving reads the healthy and victim plugins: both must answer 200, and
// their bodies show whether poison leaked into them.
func (h *hostileRun) serving(t *testing.T) string {
	t.Helper()
	var out []string
	for _, p := range []string{"/api/healthy/ping", "/api/victim/check"} {
		r, err := h.get(p, "", nil)
		if err != nil {
			t.Fatalf("GET %s: %v (the process stopped serving)", p, err)
		}
		if r.status != http.StatusOK {
			t.Errorf("GET %s answers %d: %s", p, r.status, r.body)
		}
		out = append(out, r.body)
	}
	return strings.Join(out, "\n")
}

func (h *hostileRun) run(t *testing.T, i int, c hostileCase) {
	if c.plugin != "" {
		h.checkPlugin(t, c)
		return
	}
	for _, p := range c.prep {
		if r, err := h.get(p, "", nil); err != nil || r.status != http.StatusOK {
			t.Fatalf("prep GET %s: %d %s %v", p, r.status, r.body, err)
		}
	}
	id := fmt.Sprintf("hostile-%d", i)
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	start := time.Now()
	r, err := h.request(method, c.path, c.send, id, c.header)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%s %s: %v (want a %d answer)", method, c.path, err, c.status)
	}
	r.log = h.logLines(id)
	if !statusMatches(r.status, c.status) {
		t.Errorf("%s %s answers %d, want %d: %s", method, c.path, r.status, c.status, r.body)
	}
	if r.status >= 500 && r.status != 500 && r.status != 503 && r.status != 504 {
		t.Errorf("unexpected 5xx %d", r.status)
	}
	matchRe(t, "body", c.want, r.body, true)
	matchRe(t, "body", c.unwant, r.body, false)
	matchRe(t, "log", c.log, r.log, true)
	if c.within > 0 && took > c.within {
		t.Errorf("answered after %v, want within %v", took, c.within)
	}
	if c.check != nil {
		c.check(t, r)
	}
}

func (h *hostileRun) checkPlugin(t *testing.T, c hostileCase) {
	st, ok := h.te.Plugin(c.plugin)
	if c.absent {
		if ok {
			t.Errorf("plugin %s was discovered (%s): it must not be", c.plugin, st.State)
		}
		return
	}
	if !ok {
		t.Fatalf("plugin %s was not discovered", c.plugin)
	}
	if st.State != StateFailed {
		t.Errorf("plugin %s is %s, want failed", c.plugin, st.State)
	}
	matchRe(t, "plugin error", c.err, st.Error, true)
}

func statusMatches(got, want int) bool {
	if want < 10 {
		return got/100 == want
	}
	return got == want
}

func matchRe(t *testing.T, what, re, s string, want bool) {
	t.Helper()
	if re == "" {
		return
	}
	if regexp.MustCompile(re).MatchString(s) != want {
		if len(s) > 2000 {
			s = s[:2000] + "..."
		}
		verb := "does not match"
		if !want {
			verb = "matches"
		}
		t.Errorf("%s %s %q:\n%s", what, verb, re, s)
	}
}

func (h *hostileRun) get(path, id string, header map[string]string) (hostileResult, error) {
	return h.request(http.MethodGet, path, "", id, header)
}

func (h *hostileRun) request(method, path, body, id string, header map[string]string) (hostileResult, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.te.srv.URL+path, rd)
	if err != nil {
		return hostileResult{}, err
	}
	if id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	for k, v := range header {
		req.Header.Set(k, expandToken(v))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return hostileResult{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return hostileResult{status: resp.StatusCode, header: resp.Header, body: string(b)}, err
}

// expandToken replaces "Bearer $token:<role>" with a JWT for that role,
// "$token:future" with one issued an hour from now.
func expandToken(v string) string {
	i := strings.Index(v, "$token:")
	if i < 0 {
		return v
	}
	role, now := v[i+len("$token:"):], time.Now()
	if role == "future" {
		role, now = "reader", now.Add(time.Hour)
	}
	tok, err := auth.Mint(hostileSecret, "hostile-user", []string{role}, time.Hour, now)
	if err != nil {
		panic(err)
	}
	return v[:i] + tok
}

// logLines returns the engine's log lines that carry request id id. The
// engine logs a failed call before it answers, so they are there already.
func (h *hostileRun) logLines(id string) string {
	var out []string
	for _, line := range strings.Split(h.te.logs.String(), "\n") {
		if strings.Contains(line, "request_id="+id+" ") || strings.HasSuffix(line, "request_id="+id) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// hostileRoot copies testdata/hostile into an engine root (with the pending
// plugins when asked), writes the files too large or too odd to keep in
// git, and makes the symlinks that point out of the plugin directories.
func hostileRoot(t *testing.T, pending bool) string {
	t.Helper()
	root := t.TempDir()
	copyTree(t, filepath.Join("testdata", "hostile"), root, "pending")
	if pending {
		copyTree(t, filepath.Join("testdata", "hostile", "pending", "plugins"), filepath.Join(root, "plugins"), "")
	}
	// Every plugin's settings, secrets included: no other plugin may read them.
	hostileWrite(t, filepath.Join(root, "config.json"), `{"victim": {"api_key": "root-config-secret"}}`)
	// Deeper than encoding/json's nesting limit.
	hostileWrite(t, filepath.Join(root, "plugins", "m_config_deep", "config.json"),
		strings.Repeat(`{"a":`, 20000)+"1"+strings.Repeat("}", 20000))
	links := map[string]string{
		"plugins/linked_dir":                      "../outside_plugin",
		"plugins/m_link_init/init.lua":            "../../outside.lua",
		"plugins/attacker/attacker/leak.lua":      "../../../outside.lua",
		"plugins/attacker/attacker/linked":        "../../../outside_dir",
		"plugins/p_link_config/config.json":       "../../config.json",
		"plugins/p_link_schema/admin-config.json": "../../config.json",
	}
	for link, target := range links {
		full := filepath.Join(root, filepath.FromSlash(link))
		if _, err := os.Stat(filepath.Dir(full)); err != nil {
			if !pending && strings.Contains(link, "/p_") {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// copyTree copies the regular files under src to dst, skipping the
// top-level directory named skip.
func copyTree(t *testing.T, src, dst, skip string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if skip != "" && rel == skip {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hostileWrite(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
