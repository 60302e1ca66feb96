package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
)

// identityClient speaks JSON to a served engine.
type identityClient struct {
	t    *testing.T
	base string
}

func (c identityClient) do(method, path, bearer string, body any) (int, http.Header, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

// TestIdentity_EndToEnd walks the accounts plugin over real HTTP on a served
// engine: sign up → the verification token taken from the durable event in
// the outbox → verify → login → /me with the engine-signed access token
// (which another service verifies with /.well-known/jwks.json) → refresh →
// the old refresh token again revokes the family → logins past the route's
// rate answer 429 with Retry-After.
func TestIdentity_EndToEnd(t *testing.T) {
	dbURL := pg.NewDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	root := copyHello(t, map[string]string{"plugins.json": `{"plugins": {"accounts": {"enabled": true}}}`,
		"config.json": `{"vbwd": {"auth": {"issuer": "https://api.test"}}}`})
	copyPlugin(t, "accounts", root)
	base, stop := serveUntil(t, root)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c := identityClient{t: t, base: base + "/api/v1/accounts"}
	const email, password = "e2e@example.com", "a long enough password"

	if code, _, body := c.do("POST", "/signup", "", map[string]any{"email": email, "password": password}); code != 201 {
		t.Fatalf("signup: %d %v", code, body)
	}
	token := outboxToken(t, dbURL, "accounts.verification_requested", email)
	if code, _, body := c.do("POST", "/login", "", map[string]any{"email": email, "password": password}); code != 403 {
		t.Fatalf("login before verifying: %d %v", code, body)
	}
	if code, _, body := c.do("POST", "/verify", "", map[string]any{"token": token}); code != 200 || body["verified"] != true {
		t.Fatalf("verify: %d %v", code, body)
	}

	code, _, s1 := c.do("POST", "/login", "", map[string]any{"email": email, "password": password})
	if code != 200 {
		t.Fatalf("login: %d %v", code, s1)
	}
	access, _ := s1["access_token"].(string)
	if code, _, me := c.do("GET", "/me", access, nil); code != 200 || me["email"] != email {
		t.Fatalf("/me: %d %v", code, me)
	}
	if code, _, _ := c.do("GET", "/me", access+"x", nil); code != 401 {
		t.Fatalf("/me with a tampered token: %d", code)
	}
	verifyWithJWKS(t, base, access)
	if fi, err := os.Stat(filepath.Join(root, ".data", "issuer-ed25519.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the engine's key file: %v %v", fi, err)
	}

	code, _, s2 := c.do("POST", "/refresh", "", map[string]any{"refresh_token": s1["refresh_token"]})
	if code != 200 || s2["refresh_token"] == s1["refresh_token"] {
		t.Fatalf("refresh: %d %v", code, s2)
	}
	if code, _, body := c.do("POST", "/refresh", "", map[string]any{"refresh_token": s1["refresh_token"]}); code != 401 {
		t.Fatalf("reuse of the first refresh token: %d %v", code, body)
	}
	if code, _, _ := c.do("POST", "/refresh", "", map[string]any{"refresh_token": s2["refresh_token"]}); code != 401 {
		t.Fatalf("the family survived the reuse: %d", code)
	}

	// the login route allows 10 a minute per address; a window may turn
	// during the loop, so within 2×10+1 attempts one must be refused
	for i := 0; ; i++ {
		code, hdr, body := c.do("POST", "/login", "", map[string]any{"email": "nobody@example.com", "password": "whatever it is"})
		if code == 429 {
			if n, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || n < 1 || n > 60 || body["error"] != "too many requests" {
				t.Fatalf("429 with Retry-After %q, body %v", hdr.Get("Retry-After"), body)
			}
			break
		}
		if code != 401 || i > 21 {
			t.Fatalf("login %d: %d %v", i, code, body)
		}
	}
}

// outboxToken reads the token of the last durable event name for email.
func outboxToken(t *testing.T, dbURL, name, email string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var token string
	err = conn.QueryRow(context.Background(), `select payload->>'token' from vbwd.events_outbox
		where name = $1 and payload->>'email' = $2 order by created_at desc limit 1`, name, email).Scan(&token)
	if err != nil {
		t.Fatalf("the %s event: %v", name, err)
	}
	return token
}

// verifyWithJWKS checks token as another service would: with the engine's
// published JWK Set, the engine's issuer and EdDSA only.
func verifyWithJWKS(t *testing.T, base, token string) {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("jwks: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse(token, kf.Keyfunc, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("https://api.test")); err != nil {
		t.Fatalf("the access token does not verify with the published keys: %v", err)
	}
}
