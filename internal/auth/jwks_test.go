package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// idp is a local identity provider: a JWK Set (and discovery document)
// served over real HTTP, with keys that can be rotated.
type idp struct {
	srv     *httptest.Server
	issuer  string
	mu      sync.Mutex
	keys    map[string]crypto.Signer // kid -> key, all published
	signers map[string]crypto.Signer // every key ever made, published or not
	fetches atomic.Int32
}

func newIDP(t *testing.T) *idp {
	p := &idp{keys: map[string]crypto.Signer{}, signers: map[string]crypto.Signer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		var keys []map[string]string
		for kid, k := range p.keys {
			keys = append(keys, jwk(kid, k.Public()))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.issuer, "jwks_uri": p.srv.URL + "/jwks"})
	})
	p.srv = httptest.NewServer(mux)
	p.issuer = p.srv.URL + "/realms/test"
	t.Cleanup(p.srv.Close)
	return p
}

func jwk(kid string, pub crypto.PublicKey) map[string]string {
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		return map[string]string{"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
			"x": b64(k.X.FillBytes(make([]byte, 32))), "y": b64(k.Y.FillBytes(make([]byte, 32)))}
	}
	panic("key type")
}

// rotate replaces every published key by a new one of kind ("RS256" or
// "ES256") and returns its kid.
func (p *idp) rotate(t *testing.T, kind string) string {
	t.Helper()
	var k crypto.Signer
	var err error
	if kind == "RS256" {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	kid := kind + "-" + base64.RawURLEncoding.EncodeToString(big.NewInt(time.Now().UnixNano()).Bytes())
	p.mu.Lock()
	p.keys = map[string]crypto.Signer{kid: k}
	p.signers[kid] = k
	p.mu.Unlock()
	return kid
}

// sign makes a token with the key kid, claims over sensible defaults.
func (p *idp) sign(t *testing.T, kid string, claims jwt.MapClaims) string {
	t.Helper()
	p.mu.Lock()
	k := p.signers[kid]
	p.mu.Unlock()
	now := time.Now()
	all := jwt.MapClaims{"iss": p.issuer, "aud": "vbwd-api", "sub": "user-1", "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "realm_access": map[string]any{"roles": []string{"subscriber", "editor"}}}
	for c, v := range claims {
		if v == nil {
			delete(all, c)
		} else {
			all[c] = v
		}
	}
	m := jwt.SigningMethod(jwt.SigningMethodES256)
	if _, ok := k.(*rsa.PrivateKey); ok {
		m = jwt.SigningMethodRS256
	}
	tok := jwt.NewWithClaims(m, all)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestVerifier(t *testing.T, o Options) *Verifier {
	t.Helper()
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// Tokens of a JWKS issuer verify (RS256 and ES256); after the provider
// rotates its key, a token with the new kid is accepted through one refresh;
// an unknown issuer, a wrong audience, an expired token and a key the set
// does not hold are refused.
func TestVerify_JWKSIssuer(t *testing.T) {
	p := newIDP(t)
	rsaKid := p.rotate(t, "RS256")
	v := newTestVerifier(t, Options{Issuers: []IssuerConfig{{
		Issuer: p.issuer, JWKSURL: p.srv.URL + "/jwks", Audience: "vbwd-api", RolesClaim: "realm_access.roles"}}})
	ctx := context.Background()

	u, err := v.VerifyContext(ctx, p.sign(t, rsaKid, nil))
	if err != nil {
		t.Fatalf("RS256 token: %v", err)
	}
	if u.ID != "user-1" || strings.Join(u.Roles, ",") != "subscriber,editor" || u.Source != p.issuer {
		t.Fatalf("user %+v", u)
	}

	esKid := p.rotate(t, "ES256")
	before := p.fetches.Load()
	if _, err := v.VerifyContext(ctx, p.sign(t, esKid, nil)); err != nil {
		t.Fatalf("ES256 token with the rotated key: %v", err)
	}
	if got := p.fetches.Load() - before; got != 1 {
		t.Errorf("the unknown kid cost %d fetches, want 1", got)
	}

	refused := map[string]string{
		"unknown issuer": p.sign(t, esKid, jwt.MapClaims{"iss": "https://evil.example"}),
		"wrong audience": p.sign(t, esKid, jwt.MapClaims{"aud": "another-service"}),
		"no audience":    p.sign(t, esKid, jwt.MapClaims{"aud": nil}),
		"expired":        p.sign(t, esKid, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}),
		"no sub":         p.sign(t, esKid, jwt.MapClaims{"sub": nil}),
		"old key":        p.sign(t, rsaKid, nil), // rotated out of the set
	}
	for name, tok := range refused {
		if _, err := v.VerifyContext(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}

	// the one refresh per interval is spent: another unknown kid costs no fetch
	kid3 := p.rotate(t, "ES256")
	before = p.fetches.Load()
	if _, err := v.VerifyContext(ctx, p.sign(t, kid3, nil)); err == nil {
		t.Error("a second unknown kid within the interval was fetched and accepted")
	}
	if got := p.fetches.Load() - before; got != 0 {
		t.Errorf("unknown-kid refresh not rate-limited: %d fetches", got)
	}
}

// Clock skew within the leeway is tolerated, beyond it refused.
func TestVerify_Leeway(t *testing.T) {
	p := newIDP(t)
	kid := p.rotate(t, "ES256")
	v := newTestVerifier(t, Options{Leeway: time.Minute, Issuers: []IssuerConfig{{
		Issuer: p.issuer, JWKSURL: p.srv.URL + "/jwks", Audience: "vbwd-api"}}})
	now := time.Now()
	for name, tc := range map[string]struct {
		claims jwt.MapClaims
		ok     bool
	}{
		"expired 30 s ago":     {jwt.MapClaims{"exp": now.Add(-30 * time.Second).Unix()}, true},
		"expired 2 min ago":    {jwt.MapClaims{"exp": now.Add(-2 * time.Minute).Unix()}, false},
		"issued 30 s ahead":    {jwt.MapClaims{"iat": now.Add(30 * time.Second).Unix()}, true},
		"valid in 2 min (nbf)": {jwt.MapClaims{"nbf": now.Add(2 * time.Minute).Unix()}, false},
	} {
		_, err := v.Verify(p.sign(t, kid, tc.claims))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// An issuer given by its OIDC discovery document: the jwks_uri is read from
// it, and a document naming another issuer is refused.
func TestVerify_Discovery(t *testing.T) {
	p := newIDP(t)
	kid := p.rotate(t, "RS256")
	v := newTestVerifier(t, Options{Issuers: []IssuerConfig{{
		Issuer: p.issuer, DiscoveryURL: p.srv.URL + "/.well-known/openid-configuration", Audience: "vbwd-api",
		RolesClaim: "realm_access.roles"}}})
	if u, err := v.Verify(p.sign(t, kid, nil)); err != nil || len(u.Roles) != 2 {
		t.Fatalf("token through discovery: %+v %v", u, err)
	}

	other := newTestVerifier(t, Options{Issuers: []IssuerConfig{{
		Issuer: p.issuer + "-other", DiscoveryURL: p.srv.URL + "/.well-known/openid-configuration", Audience: "vbwd-api"}}})
	_, err := other.Verify(p.sign(t, kid, jwt.MapClaims{"iss": p.issuer + "-other"}))
	if err == nil || !strings.Contains(err.Error(), "document names issuer") {
		t.Fatalf("discovery of another issuer: %v", err)
	}
}

func TestNew_BadIssuerConfig(t *testing.T) {
	for name, ic := range map[string]IssuerConfig{
		"no issuer":   {JWKSURL: "http://x/jwks", Audience: "a"},
		"no keys":     {Issuer: "i", Audience: "a"},
		"both":        {Issuer: "i", JWKSURL: "http://x", DiscoveryURL: "http://y", Audience: "a"},
		"no audience": {Issuer: "i", JWKSURL: "http://x"},
		"HS256":       {Issuer: "i", JWKSURL: "http://x", Audience: "a", Algorithms: []string{"HS256"}},
	} {
		if v, err := New(Options{Issuers: []IssuerConfig{ic}}); err == nil {
			v.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRolesOf(t *testing.T) {
	claims := map[string]any{"scope": "read write", "a": map[string]any{"b": []any{"x", 1, "y"}}}
	for path, want := range map[string]string{"scope": "read,write", "a.b": "x,y", "a.c": "", "scope.x": ""} {
		if got := strings.Join(rolesOf(claims, path), ","); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
