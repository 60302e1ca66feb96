package engine

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// doHeaders is te.do with request headers.
func (te *testEngine) doHeaders(t *testing.T, method, path string, hdr map[string]string) result {
	t.Helper()
	req, _ := http.NewRequest(method, te.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return te.doReq(t, req)
}

const issuingPlugin = `
local auth = require("vbwd.auth")
function P.on_enable(ctx)
  ctx:permission("p.read", { description = "Read", roles = { "reader" } })
end
function P.routes(r)
  r:post("/token", function(req)
    local tok, err = auth.issue({ sub = "acc-1", roles = { "reader", "vbwd-admin" }, ttl = 60 })
    return 200, { token = tok, err = err, iss = auth.issuer() }
  end)
  r:get("/read", { permission = "p.read" }, function(req) return 200, { id = req.user.id, iss = req.user.claims.iss } end)
  r:get("/limited", { rate = "2/m" }, function(req) return 200, { ok = true } end)
  r:get("/by-ip", { rate = { limit = "2/h", key = "ip" } }, function(req) return 200, { ok = true } end)
end`

// The engine as an issuer: a plugin's vbwd.auth.issue token is accepted on
// plugin routes (roles → permissions), its key is published at
// /.well-known/jwks.json, and the admin API refuses it even though
// config.json grants its role admin.*.
func TestIdentity_EngineIssuer(t *testing.T) {
	root := writeRoot(t, files{
		"config.json":        `{"vbwd": {"roles": {"vbwd-admin": ["admin.*"]}, "auth": {"issuer": "https://api.test"}}}`,
		"plugins/p/init.lua": pluginSrc("p", "", issuingPlugin),
	})
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	te := startEngine(t, root, func(o *Options) { o.IssuerKey = key; o.AdminToken = "ops" })
	r := te.do(t, "POST", "/api/p/token", "")
	tok, _ := r.json["token"].(string)
	if r.status != 200 || tok == "" || r.json["iss"] != "https://api.test" {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	if r := te.doAuth(t, "GET", "/api/p/read", "", tok); r.status != 200 || r.json["id"] != "acc-1" || r.json["iss"] != "https://api.test" {
		t.Fatalf("the engine's token on a plugin route: %d %s", r.status, r.body)
	}
	if r := te.doAuth(t, "GET", "/admin/plugins", "", tok); r.status != 401 {
		t.Fatalf("the admin API took a plugin-issued token: %d %s", r.status, r.body)
	}
	r = te.do(t, "GET", JWKSPath, "")
	var set struct{ Keys []map[string]string }
	if r.status != 200 || json.Unmarshal([]byte(r.body), &set) != nil || len(set.Keys) != 1 ||
		set.Keys[0]["kty"] != "OKP" || set.Keys[0]["x"] != base64.RawURLEncoding.EncodeToString(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("jwks: %d %s", r.status, r.body)
	}

	// without a key the engine issues nothing and publishes nothing
	te2 := startEngine(t, writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "", issuingPlugin)}), nil)
	if r := te2.do(t, "POST", "/api/p/token", ""); r.json["token"] != nil || !strings.Contains(r.body, "no issuer") {
		t.Fatalf("issue without a key: %s", r.body)
	}
	if r := te2.do(t, "GET", JWKSPath, ""); r.status != 404 {
		t.Fatalf("jwks without a key: %d", r.status)
	}
}

// A configured identity provider: its ES256 tokens are accepted with roles
// from the configured claim path; another audience is refused.
func TestIdentity_ProviderTokens(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "kid": "k1",
			"alg": "ES256", "x": b64(k.X.FillBytes(make([]byte, 32))), "y": b64(k.Y.FillBytes(make([]byte, 32)))}}})
	}))
	defer idp.Close()
	root := writeRoot(t, files{
		"config.json": `{"vbwd": {"auth": {"issuers": [{"issuer": "https://sso.test", "jwks_url": "` + idp.URL +
			`", "audience": "vbwd-api", "roles_claim": "realm_access.roles"}]}}}`,
		"plugins/p/init.lua": pluginSrc("p", "", issuingPlugin),
	})
	te := startEngine(t, root, nil)
	sign := func(aud string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://sso.test", "aud": aud, "sub": "sso-7",
			"exp": time.Now().Add(time.Hour).Unix(), "realm_access": map[string]any{"roles": []string{"reader"}}})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if r := te.doAuth(t, "GET", "/api/p/read", "", sign("vbwd-api")); r.status != 200 || r.json["id"] != "sso-7" {
		t.Fatalf("provider token: %d %s", r.status, r.body)
	}
	if r := te.doAuth(t, "GET", "/api/p/read", "", sign("another-api")); r.status != 401 {
		t.Fatalf("provider token for another audience: %d %s", r.status, r.body)
	}
}

// rate = "2/m" answers 429 with Retry-After on the third call of a client;
// keyed by the client address, X-Forwarded-For counts only from a trusted
// proxy.
func TestIdentity_RouteRate(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)}
	root := writeRoot(t, files{
		"config.json":        `{"vbwd": {"trusted_proxies": ["127.0.0.1"]}}`,
		"plugins/p/init.lua": pluginSrc("p", "", issuingPlugin),
	})
	te := startEngine(t, root, func(o *Options) { o.Clock = clock.Now })
	for i := range 2 {
		if r := te.do(t, "GET", "/api/p/limited", ""); r.status != 200 {
			t.Fatalf("call %d: %d", i, r.status)
		}
	}
	r := te.do(t, "GET", "/api/p/limited", "")
	if r.status != 429 || r.header.Get("Retry-After") != "30" || r.json["error"] != "too many requests" {
		t.Fatalf("third call: %d %v %s", r.status, r.header, r.body)
	}
	clock.Advance(30 * time.Second)
	if r := te.do(t, "GET", "/api/p/limited", ""); r.status != 200 {
		t.Fatalf("the next window: %d", r.status)
	}

	// behind the trusted proxy (the loopback peer), each forwarded client counts apart
	for _, ip := range []string{"198.51.100.1", "198.51.100.1", "198.51.100.2", "198.51.100.2"} {
		if r := te.doHeaders(t, "GET", "/api/p/by-ip", map[string]string{"X-Forwarded-For": ip}); r.status != 200 {
			t.Fatalf("client %s: %d", ip, r.status)
		}
	}
	if r := te.doHeaders(t, "GET", "/api/p/by-ip", map[string]string{"X-Forwarded-For": "198.51.100.1"}); r.status != 429 {
		t.Fatalf("the third call of one forwarded client: %d", r.status)
	}
}

// Bad rate options fail the plugin with the option's error.
func TestIdentity_RouteRateOptionErrors(t *testing.T) {
	for opt, want := range map[string]string{
		`rate = "5/w"`:                           "the unit must be",
		`rate = 5`:                               "option rate must be",
		`rate = { limit = "5/m", key = "host" }`: `key must be "ip" or "user"`,
		`rate = { limit = "5/m", per = "ip" }`:   `unknown field "per"`,
		`rate = { key = "ip" }`:                  "option rate must be",
	} {
		root := writeRoot(t, files{"plugins/p/init.lua": pluginSrc("p", "",
			`function P.routes(r) r:get("/x", { `+opt+` }, function() return 200 end) end`)})
		te := startEngine(t, root, nil)
		if st := te.status(t, "p"); st.Error == "" || !strings.Contains(st.Error, want) {
			t.Errorf("%s: error %q, want %q", opt, st.Error, want)
		}
	}
}

// testClock is a settable clock for Options.Clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// A bad vbwd.auth or vbwd.trusted_proxies refuses to make the engine, naming
// the setting.
func TestIdentity_BadConfig(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"vbwd": {"auth": {"isuer": "x"}}}`:                                  `unknown field "isuer"`,
		`{"vbwd": {"auth": {"issuers": [{"issuer": "i", "audience": "a"}]}}}`: "jwks_url",
		`{"vbwd": {"trusted_proxies": ["not-an-address"]}}`:                   "vbwd.trusted_proxies",
		`{"vbwd": {"trusted_proxies": "10.0.0.0/8"}}`:                         "vbwd.trusted_proxies",
	} {
		_, err := New(Options{Root: writeRoot(t, files{"config.json": cfg})})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cfg, err, want)
		}
	}
}
