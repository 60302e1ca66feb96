package http

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

// server is a real HTTP server on loopback that counts the connections it
// accepted and the requests it served.
type server struct {
	*httptest.Server
	conns, reqs atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reqs.Add(1)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *server) port() string { _, p, _ := net.SplitHostPort(s.Listener.Addr().String()); return p }

// hosts resolves the names in it, and nothing else.
type hosts map[string]string

func (h hosts) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := h[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) ObserveHTTP(plugin, host, outcome string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, plugin+" "+host+" "+outcome)
}

// newModule returns a module for plugin "hooks" allowing allow, over
// client, and a state with it loaded as the global http.
func newModule(t *testing.T, client *Client, allow ...string) (*Module, *lua.LState, *recorder) {
	t.Helper()
	rec := &recorder{}
	m := New(Options{Plugin: "hooks", Client: client, Observer: rec, MaxResponseBytes: 1024})
	list := make([]any, len(allow))
	for i, a := range allow {
		list[i] = a
	}
	if err := m.Configure(map[string]any{"http": map[string]any{"allow": list}}); err != nil {
		t.Fatal(err)
	}
	L := luatest.NewState(t, m)
	if err := L.DoString(`http = require("vbwd.http")`); err != nil {
		t.Fatal(err)
	}
	return m, L, rec
}

// run runs code, which returns res, err, and returns them as strings.
func run(t *testing.T, L *lua.LState, code string) (string, string) {
	t.Helper()
	L.SetTop(0)
	if err := L.DoString(code); err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	defer L.SetTop(0)
	return L.Get(1).String(), L.Get(2).String()
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"method":%q,"query":%q,"token":%q,"ctype":%q,"body":%q}`,
		r.Method, r.URL.RawQuery, r.Header.Get("X-Token"), r.Header.Get("Content-Type"), body)
}

func TestAllowedHost(t *testing.T) {
	s := newServer(t, echo)
	_, L, rec := newModule(t, NewClient(hosts{"api.test": "127.0.0.1"}), "api.test")
	res, err := run(t, L, fmt.Sprintf(`
		local res, err = http.post("http://api.test:%s/in?a=1", {
			query = { b = "x y", c = { 1, 2 } }, headers = { ["x-token"] = "t1" }, json = { n = 1 } })
		if not res then return nil, err end
		return res.status .. " " .. res.json.method .. " " .. res.json.query .. " " .. res.json.token .. " " ..
			res.json.ctype .. " " .. res.json.body .. " " .. res.headers["content-type"], nil`, s.port()))
	want := `200 POST a=1&b=x+y&c=1&c=2 t1 application/json {"n":1} application/json`
	if res != want || err != "nil" {
		t.Errorf("got %q, %q; want %q", res, err, want)
	}
	for _, method := range []string{"get", "put", "patch", "delete"} {
		res, err := run(t, L, fmt.Sprintf(`local r, e = http.%s("http://api.test:%s/", { body = "raw" })
			return r and r.json.method .. " " .. r.json.body, e`, method, s.port()))
		if want := strings.ToUpper(method) + " raw"; res != want {
			t.Errorf("%s: got %q, %q; want %q", method, res, err, want)
		}
	}
	if s.conns.Load() != 1 {
		t.Errorf("the server accepted %d connections for 5 requests; want 1 (the transport reuses them)", s.conns.Load())
	}
	if got := rec.got[0]; got != "hooks api.test 2xx" {
		t.Errorf("metrics: %q", got)
	}
}

func refused(t *testing.T, err string, s ...*server) {
	t.Helper()
	if !strings.Contains(err, "refused for plugin hooks") {
		t.Errorf("err = %q; want a refusal", err)
	}
	for _, s := range s {
		if n := s.conns.Load(); n != 0 {
			t.Errorf("the server saw %d connections; want none", n)
		}
	}
}

func TestNotAllowedHostRefusedBeforeConnecting(t *testing.T) {
	s := newServer(t, echo)
	_, L, rec := newModule(t, NewClient(nil), "example.test")
	_, err := run(t, L, fmt.Sprintf(`return http.get("http://localhost:%s/")`, s.port()))
	refused(t, err, s)
	if !strings.Contains(err, "not in the plugin's http.allow") {
		t.Errorf("err = %q", err)
	}
	if rec.got[0] != "hooks - refused" {
		t.Errorf("metrics: %q", rec.got)
	}
}

func TestNothingAllowedByDefault(t *testing.T) {
	s := newServer(t, echo)
	m := New(Options{Plugin: "hooks"})
	L := luatest.NewState(t, m)
	_, err := run(t, L, fmt.Sprintf(`return require("vbwd.http").get("http://127.0.0.1:%s/")`, s.port()))
	refused(t, err, s)
	if !strings.Contains(err, "no http.allow") {
		t.Errorf("err = %q", err)
	}
}

func TestRedirectToNotAllowedHost(t *testing.T) {
	target := newServer(t, echo)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+target.port()+"/stolen", http.StatusFound)
	})
	_, L, _ := newModule(t, NewClient(hosts{"api.test": "127.0.0.1"}), "api.test")
	_, err := run(t, L, fmt.Sprintf(`return http.get("http://api.test:%s/")`, s.port()))
	refused(t, err, target)
	if !strings.Contains(err, "redirected there by api.test") {
		t.Errorf("err = %q", err)
	}
}

// A wildcard allows a name, but the name resolves to loopback: refused
// after DNS resolution, before connecting.
func TestNameResolvingToLoopback(t *testing.T) {
	s := newServer(t, echo)
	_, L, _ := newModule(t, NewClient(hosts{"evil.test": "127.0.0.1"}), "*.test")
	_, err := run(t, L, fmt.Sprintf(`return http.get("http://evil.test:%s/")`, s.port()))
	refused(t, err, s)
	if !strings.Contains(err, "127.0.0.1, a loopback address") {
		t.Errorf("err = %q", err)
	}
	// the same through the system resolver: "localhost" under "*"
	_, L, _ = newModule(t, NewClient(nil), "*")
	_, err = run(t, L, fmt.Sprintf(`return http.get("http://localhost:%s/")`, s.port()))
	refused(t, err, s)
	_, err = run(t, L, fmt.Sprintf(`return http.get("http://127.0.0.1:%s/")`, s.port()))
	refused(t, err, s)
}

// A connection pooled for a plugin that lists the address explicitly is
// not reused for one that reaches it through a wildcard.
func TestPooledConnectionCheckedOnReuse(t *testing.T) {
	s := newServer(t, echo)
	client := NewClient(nil)
	_, A, _ := newModule(t, client, "127.0.0.1")
	url := "http://127.0.0.1:" + s.port() + "/"
	if res, err := run(t, A, `return http.get("`+url+`")`); err != "nil" {
		t.Fatalf("explicit address: %s %s", res, err)
	}
	_, B, _ := newModule(t, client, "*")
	_, err := run(t, B, `return http.get("`+url+`")`)
	if !strings.Contains(err, "refused for plugin hooks") || s.reqs.Load() != 1 {
		t.Errorf("err = %q, requests served %d; want a refusal and 1", err, s.reqs.Load())
	}
}

func TestResponseSizeCap(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2000)) })
	_, L, _ := newModule(t, NewClient(nil), "127.0.0.1")
	_, err := run(t, L, fmt.Sprintf(`return http.get("http://127.0.0.1:%s/")`, s.port()))
	if !strings.Contains(err, "exceeds 1024 bytes") {
		t.Errorf("err = %q", err)
	}
}

// A call ends with the state's context (the request's deadline).
func TestBoundedByRequestDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	_, L, _ := newModule(t, NewClient(nil), "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	_, err := run(t, L, fmt.Sprintf(`return http.get("http://127.0.0.1:%s/")`, s.port()))
	if !strings.Contains(err, "the request's deadline passed") {
		t.Errorf("err = %q", err)
	}
}

func TestRefusedInBuildPhase(t *testing.T) {
	_, L, _ := newModule(t, NewClient(nil), "*")
	L.SetContext(hostapi.WithBuildPhase(context.Background()))
	err := L.DoString(`http.get("http://example.com/")`)
	if err == nil || !strings.Contains(err.Error(), "not allowed during initialize/routes/on_enable") {
		t.Errorf("err = %v", err)
	}
}

func TestPolicy(t *testing.T) {
	p, err := ParsePolicy([]string{"api.example.com", "*.hooks.test", "10.0.0.7:8080", "[::1]:9000"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, port        string
		allowed, explicit bool
	}{
		{"API.example.com", "443", true, true},
		{"example.com", "443", false, false},
		{"a.hooks.test", "80", true, false},
		{"hooks.test", "80", false, false},
		{"10.0.0.7", "8080", true, true},
		{"10.0.0.7", "80", false, false},
		{"::1", "9000", true, true},
	} {
		a, e := p.Match(c.host, c.port)
		if a != c.allowed || e != c.explicit {
			t.Errorf("Match(%s, %s) = %v, %v; want %v, %v", c.host, c.port, a, e, c.allowed, c.explicit)
		}
	}
	for _, bad := range []string{"", "https://x.test", "x.test:0", "a*.test"} {
		if _, err := ParsePolicy([]string{bad}); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
	m := New(Options{})
	if err := m.Configure(map[string]any{"http": map[string]any{"allow": "x.test"}}); err == nil {
		t.Error("a string http.allow was accepted")
	}
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(Options{}), "delete", "get", "patch", "post", "put", "request")
}
