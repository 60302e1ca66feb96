package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// TestFullWalk is issue 14's whole walk in one engine, over real HTTP, with
// the shipped accounts, subscription, payments_fake and tarot plugins on a
// real PostgreSQL: sign up -> verify the e-mail with the token of the durable
// accounts.verification_requested event -> login -> refresh (and the reuse of
// a refresh token revokes its family) -> checkout a paid plan -> pay at
// payments_fake -> its webhook -> active -> a tarot three-card spread -> an
// upgrade with proration -> renewal by the billing job on the engine's clock
// -> a declined renewal -> past_due -> expiry -> tarot answers 402.
//
// The user's tokens are the ones accounts issues (EdDSA, the engine's key),
// never minted; they expire on the engine's clock like everything else, so
// the user logs in again after each move of the clock. Only the operator
// (who declines the card at the fake provider) has a minted HS256 token.
func TestFullWalk(t *testing.T) {
	const secret = "full-walk-secret"
	plugins := []string{"accounts", "subscription", "tarot", "payments_fake"}
	root := copyHello(t, map[string]string{
		"plugins.json": `{"plugins": {"accounts": {"enabled": true}, "subscription": {"enabled": true},
			"tarot": {"enabled": true}, "payments_fake": {"enabled": true}}}`,
		// subscriber: tarot's permission; the billing job every second of the engine's clock
		"config.json": `{"vbwd": {"auth": {"issuer": "https://api.test"}},
			"accounts": {"default_roles": ["user", "subscriber"]},
			"subscription": {"expiry_check_seconds": 1}}`,
	})
	for _, p := range plugins {
		copyPlugin(t, p, root)
	}
	ctx := context.Background()
	dbURL := pg.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC) // a 30-day month
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	setClock := func(to time.Time) { mu.Lock(); now = to; mu.Unlock() }
	tick := func() { mu.Lock(); now = now.Add(2 * time.Second); mu.Unlock() }

	e, err := engine.New(engine.Options{Root: root, DB: pool, JWTSecret: secret, IssuerKey: key, Clock: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	for _, p := range plugins {
		if st, _ := e.Plugin(p); st.State != engine.StateEnabled {
			t.Fatalf("%s is %s: %s", p, st.State, st.Error)
		}
	}
	if _, err := e.Populate(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	c := identityClient{t: t, base: srv.URL}
	call := func(method, path, tok, body string, headers ...string) (int, map[string]any) {
		t.Helper()
		return walkCall(t, srv.URL, method, path, tok, body, headers...)
	}

	// Identity: sign up, verify with the event's token, login, refresh.
	const email, password = "walker@example.com", "a long enough password"
	acct := func(p string) string { return "/api/v1/accounts" + p }
	if code, _, m := c.do("POST", acct("/signup"), "", map[string]any{"email": email, "password": password}); code != 201 {
		t.Fatalf("signup: %d %v", code, m)
	}
	if code, _, m := c.do("POST", acct("/login"), "", map[string]any{"email": email, "password": password}); code != 403 {
		t.Fatalf("login before verifying: %d %v", code, m)
	}
	token := outboxToken(t, dbURL, "accounts.verification_requested", email)
	if code, _, m := c.do("POST", acct("/verify"), "", map[string]any{"token": token}); code != 200 || m["verified"] != true {
		t.Fatalf("verify: %d %v", code, m)
	}
	login := func() string {
		t.Helper()
		code, _, s := c.do("POST", acct("/login"), "", map[string]any{"email": email, "password": password})
		tok, _ := s["access_token"].(string)
		if code != 200 || tok == "" {
			t.Fatalf("login: %d %v", code, s)
		}
		return tok
	}
	code, _, s1 := c.do("POST", acct("/login"), "", map[string]any{"email": email, "password": password})
	if code != 200 {
		t.Fatalf("login: %d %v", code, s1)
	}
	code, _, me := c.do("GET", acct("/me"), s1["access_token"].(string), nil)
	userID, _ := me["id"].(string)
	if code != 200 || me["email"] != email || userID == "" {
		t.Fatalf("/me: %d %v", code, me)
	}
	code, _, s2 := c.do("POST", acct("/refresh"), "", map[string]any{"refresh_token": s1["refresh_token"]})
	if code != 200 || s2["refresh_token"] == s1["refresh_token"] || s2["access_token"] == nil {
		t.Fatalf("refresh: %d %v", code, s2)
	}
	if code, _, m := c.do("POST", acct("/refresh"), "", map[string]any{"refresh_token": s1["refresh_token"]}); code != 401 {
		t.Fatalf("reuse of the first refresh token: %d %v", code, m)
	}
	if code, _, _ := c.do("POST", acct("/refresh"), "", map[string]any{"refresh_token": s2["refresh_token"]}); code != 401 {
		t.Fatalf("the family survived the reuse: %d", code)
	}
	// The refreshed access token stays valid until it expires; the walk
	// goes on with it.
	alice := s2["access_token"].(string)
	ops, err := auth.Mint(secret, "ops", []string{"admin"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// waitFor polls GET /me until cond holds, moving the clock on a little
	// each time (a job run claimed less than a real second after the previous
	// one is skipped, and runs again when next due).
	waitFor := func(what string, cond func(code int, me map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, me := call("GET", "/api/v1/subscription/me", alice, "")
			if cond(code, me) {
				return me
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s; last /me: %d %v", what, code, me)
			}
			time.Sleep(100 * time.Millisecond)
			tick()
		}
	}
	// moveTo sets the engine's clock; the old access token has expired by
	// then (900s), and the user logs in again.
	moveTo := func(to time.Time) {
		t.Helper()
		setClock(to)
		if code, _ := call("GET", "/api/v1/subscription/me", alice, ""); code != 401 {
			t.Errorf("an access token from before %s: %d, want 401", to, code)
		}
		alice = login()
	}
	sub := func(m map[string]any) map[string]any { s, _ := m["subscription"].(map[string]any); return s }
	inv := func(m map[string]any) map[string]any { s, _ := m["invoice"].(map[string]any); return s }
	plan := func(me map[string]any) any { p, _ := me["plan"].(map[string]any); return p["slug"] }

	// Checkout a paid plan; tarot refuses until it is paid.
	code, co := call("POST", "/api/v1/subscription/checkout", alice, `{"plan": "basic"}`, "Idempotency-Key", "full-1")
	if code != 201 || sub(co)["status"] != "pending" || inv(co)["status"] != "open" {
		t.Fatalf("checkout: %d %v", code, co)
	}
	if code, m := call("POST", "/api/v1/tarot/spreads", alice, ""); code != 402 {
		t.Fatalf("tarot before paying: %d %v, want 402", code, m)
	}
	url, _ := co["checkout"].(map[string]any)["url"].(string)
	_, path, ok := strings.Cut(url, "://")
	if !ok || !strings.Contains(path, "/") {
		t.Fatalf("checkout url %q", url)
	}
	path = path[strings.Index(path, "/"):]
	if code, m := call("POST", path+"/pay", "", ""); code != 200 || m["status"] != "paid" {
		t.Fatalf("pay: %d %v", code, m)
	}
	me = waitFor("active after the webhook event", func(code int, me map[string]any) bool {
		return code == 200 && me["status"] == "active"
	})
	if me["period_end"] != "2026-10-01T00:00:00Z" || plan(me) != "basic" {
		t.Fatalf("active: %v", me)
	}

	// The three-card spread.
	code, spread := call("POST", "/api/v1/tarot/spreads", alice, `{"spread": "three-card"}`)
	cards, _ := spread["cards"].([]any)
	if code != 201 || len(cards) != 3 {
		t.Fatalf("spread: %d %v", code, spread)
	}
	for i, want := range []string{"past", "present", "future"} {
		if c := cards[i].(map[string]any); c["position"] != want {
			t.Errorf("card %d: %v", i, c)
		}
	}

	// Upgrade at mid-period: credit 250 for basic, charge 500 for pro.
	moveTo(time.Date(2026, 9, 16, 0, 0, 0, 0, time.UTC))
	code, ch := call("POST", "/api/v1/subscription/change", alice, `{"plan": "pro"}`)
	if code != 200 || inv(ch)["total_minor"] != float64(250) || inv(ch)["status"] != "paid" || plan(sub(ch)) != "pro" {
		t.Fatalf("upgrade: %d %v", code, ch)
	}
	lines, _ := inv(ch)["lines"].([]any)
	if len(lines) != 2 || lines[0].(map[string]any)["amount_minor"] != float64(-250) ||
		lines[1].(map[string]any)["amount_minor"] != float64(500) {
		t.Errorf("proration lines: %v", lines)
	}

	// Renewal by the job, a day before the period ends.
	moveTo(time.Date(2026, 9, 30, 6, 0, 0, 0, time.UTC))
	waitFor("renewed by the job", func(code int, me map[string]any) bool {
		return code == 200 && me["period_end"] == "2026-11-01T00:00:00Z" && me["status"] == "active"
	})
	_, list := call("GET", "/api/v1/subscription/invoices", alice, "")
	if invs, _ := list["invoices"].([]any); len(invs) != 3 || invs[0].(map[string]any)["kind"] != "renewal" ||
		invs[0].(map[string]any)["status"] != "paid" {
		t.Fatalf("invoices after the renewal: %v", list)
	}

	// The next renewal is declined: past_due, access kept in the grace period.
	if code, m := call("PUT", "/api/v1/payments_fake/customers/"+userID, ops, `{"decline": true}`); code != 200 {
		t.Fatalf("decline: %d %v", code, m)
	}
	moveTo(time.Date(2026, 10, 31, 6, 0, 0, 0, time.UTC))
	me = waitFor("past_due after a declined renewal", func(code int, me map[string]any) bool {
		return code == 200 && me["status"] == "past_due"
	})
	if me["grace_until"] != "2026-11-08T00:00:00Z" {
		t.Errorf("grace_until: %v", me["grace_until"])
	}
	if code, m := call("POST", "/api/v1/tarot/spreads", alice, ""); code != 201 {
		t.Errorf("tarot within the grace period: %d %v", code, m)
	}

	// Past the grace period: expired, and tarot answers 402.
	moveTo(time.Date(2026, 11, 8, 0, 0, 1, 0, time.UTC))
	waitFor("expired after the grace period", func(code int, _ map[string]any) bool { return code == 404 })
	if code, m := call("POST", "/api/v1/tarot/spreads", alice, ""); code != 402 || m["error"] != "subscription required" {
		t.Errorf("tarot after expiry: %d %v, want 402", code, m)
	}
}

// walkCall sends one request with an optional bearer token and header
// pairs, and decodes the JSON answer.
func walkCall(t *testing.T, base, method, path, tok, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
