package auth

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

func newTestIssuer(t *testing.T, url string) *Issuer {
	t.Helper()
	key, created, err := LoadOrCreateKey(filepath.Join(t.TempDir(), ".data", KeyFileName))
	if err != nil || !created {
		t.Fatalf("LoadOrCreateKey: created %v, %v", created, err)
	}
	return NewIssuer(url, "", key)
}

// The engine accepts the tokens it issues, with the roles and the issuing
// plugin in them; another engine's key, a token past its ttl and a token
// naming the engine's issuer but signed with HS256 are refused.
func TestIssuer_RoundTrip(t *testing.T) {
	iss := newTestIssuer(t, "https://api.example.com")
	v := newTestVerifier(t, Options{Self: iss, Secret: "s"})
	now := time.Now()
	tok, err := iss.Issue(Claims{Subject: "acc-1", Roles: []string{"subscriber"}, TTL: time.Minute, Plugin: "accounts"}, now)
	if err != nil {
		t.Fatal(err)
	}
	u, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "acc-1" || strings.Join(u.Roles, ",") != "subscriber" || u.Source != SourceEngine || u.Claims["vbwd_plugin"] != "accounts" {
		t.Fatalf("user %+v", u)
	}

	other := newTestIssuer(t, "https://api.example.com")
	forged, _ := other.Issue(Claims{Subject: "acc-1", TTL: time.Minute}, now)
	old, _ := iss.Issue(Claims{Subject: "acc-1", TTL: time.Minute}, now.Add(-time.Hour))
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": iss.URL, "sub": "x",
		"exp": now.Add(time.Hour).Unix()}).SignedString([]byte("wrong"))
	for name, tok := range map[string]string{"another key": forged, "expired": old, "HS256 with a wrong secret": hs} {
		if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// the shared secret keeps working beside the issuer
	dev, _ := Mint("s", "dev", nil, time.Minute, now)
	if u, err := v.Verify(dev); err != nil || u.Source != SourceSecret {
		t.Errorf("HS256 beside the issuer: %+v %v", u, err)
	}
}

func TestIssuer_Refuses(t *testing.T) {
	iss := newTestIssuer(t, "")
	now := time.Now()
	for name, c := range map[string]Claims{
		"no sub":         {TTL: time.Minute},
		"no ttl":         {Subject: "a"},
		"ttl too long":   {Subject: "a", TTL: MaxTTL + time.Second},
		"reserved claim": {Subject: "a", TTL: time.Minute, Extra: map[string]any{"exp": 1}},
	} {
		if _, err := iss.Issue(c, now); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
}

// The published JWK Set verifies the engine's tokens in another program
// (here the keyfunc library, as another service would use it).
func TestIssuer_JWKS(t *testing.T) {
	iss := newTestIssuer(t, "")
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != iss.KeyID() {
		t.Fatalf("jwks %s: %v", iss.JWKS(), err)
	}
	kf, err := keyfunc.NewJWKSetJSON(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := iss.Issue(Claims{Subject: "a", TTL: time.Minute}, time.Now())
	if _, err := jwt.Parse(tok, kf.Keyfunc, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(DefaultIssuer)); err != nil {
		t.Fatalf("a JWKS consumer refuses the engine's token: %v", err)
	}
}

// The key is made once, 0600, and read back on the next start; a key file
// that is not an Ed25519 PKCS #8 PEM is an error.
func TestLoadOrCreateKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "d", KeyFileName)
	k1, created, err := LoadOrCreateKey(file)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(file)
	if err != nil || created || !k1.Equal(k2) {
		t.Fatalf("second load: created %v, same %v, %v", created, k1.Equal(k2), err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	if _, _, err := LoadOrCreateKey(bad); err == nil {
		t.Error("a broken key file was accepted")
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(map[string]any{"issuer": "https://x", "leeway_seconds": 10,
		"issuers": []any{map[string]any{"issuer": "i", "jwks_url": "http://k", "audience": "a", "roles_claim": "r.s"}}})
	if err != nil || c.Issuer != "https://x" || c.Leeway() != 10*time.Second || c.Issuers[0].RolesClaim != "r.s" {
		t.Fatalf("%+v %v", c, err)
	}
	for name, bad := range map[string]any{
		"unknown field":  map[string]any{"isuer": "x"},
		"bad issuer":     map[string]any{"issuers": []any{map[string]any{"issuer": "i"}}},
		"leeway too big": map[string]any{"leeway_seconds": 3600},
	} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if c, err := ParseConfig(nil); err != nil || c.Leeway() != DefaultLeeway {
		t.Errorf("defaults: %+v %v", c, err)
	}
}
