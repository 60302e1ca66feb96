package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/engine"
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
		"plugins.json": enabledPlugins(plugins...),
		// subscriber: tarot's permission; the billing job every second of the engine's clock
		"config.json": `{"vbwd": {"auth": {"issuer": "https://api.test"}},
			"accounts": {"default_roles": ["user", "subscriber"]},
			"subscription": {"expiry_check_seconds": 1}}`,
	})
	for _, p := range plugins {
		copyPlugin(t, p, root)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	base, dbURL, clock := startClockEngine(t, root, engine.Options{JWTSecret: secret, IssuerKey: key}, plugins...)
	c := identityClient{t: t, base: base}

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
	w := &billingWalk{t: t, base: base, clock: clock, user: userID, login: login,
		tok: s2["access_token"].(string), ops: mintToken(t, secret, "ops", "admin")}

	// Billing, as TestBillingWalk walks it; the user's tokens expire on the
	// engine's clock (900s), so the user logs in again after each move.
	w.pay(w.checkout("full-1"))
	w.spread()
	w.upgrade()
	w.renew()
	w.decline()
	w.expire()
}
