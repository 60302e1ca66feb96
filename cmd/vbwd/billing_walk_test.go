package main

import (
	"context"
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

// TestBillingWalk walks billing end to end over real HTTP, with the shipped
// subscription, tarot and payments_fake plugins on a real PostgreSQL:
// checkout a paid plan (retried with its Idempotency-Key) -> pay at the
// provider's checkout URL -> its webhook event, delivered by the engine's
// workers -> active -> a tarot three-card spread -> an upgrade with
// proration -> renewal by the subscription.billing job on the engine's
// clock -> a declined renewal -> past_due -> expiry after the grace period
// -> tarot answers 402. The clock is Options.Clock: the test moves it, the
// scheduler and vbwd.time follow it. Tokens are minted with the shared HS256
// secret, as the other walks do (the accounts plugin is another branch's).
func TestBillingWalk(t *testing.T) {
	const secret = "billing-walk-secret"
	root := copyHello(t, map[string]string{
		"plugins.json": `{"plugins": {"subscription": {"enabled": true}, "tarot": {"enabled": true},
			"payments_fake": {"enabled": true}}}`,
		// the billing job every second (of the engine's clock, claimed in real time)
		"config.json": `{"subscription": {"expiry_check_seconds": 1}}`,
	})
	for _, p := range []string{"subscription", "tarot", "payments_fake"} {
		copyPlugin(t, p, root)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	var mu sync.Mutex
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC) // a 30-day month
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	setClock := func(to time.Time) { mu.Lock(); now = to; mu.Unlock() }
	tick := func() { mu.Lock(); now = now.Add(2 * time.Second); mu.Unlock() }

	e, err := engine.New(engine.Options{Root: root, DB: pool, JWTSecret: secret, Clock: clock,
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
	for _, p := range []string{"subscription", "tarot", "payments_fake"} {
		if st, _ := e.Plugin(p); st.State != engine.StateEnabled {
			t.Fatalf("%s is %s: %s", p, st.State, st.Error)
		}
	}
	if _, err := e.Populate(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()

	token := func(id string, roles ...string) string {
		tok, err := auth.Mint(secret, id, roles, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	alice, ops := token("alice", "subscriber"), token("ops", "admin")
	call := func(method, path, tok, body string, headers ...string) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
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
	// waitFor polls until cond holds for GET /me, moving the clock on a
	// little each time (a job run claimed less than a real second after the
	// previous one is skipped, and runs again when next due).
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
	sub := func(m map[string]any) map[string]any { s, _ := m["subscription"].(map[string]any); return s }
	inv := func(m map[string]any) map[string]any { s, _ := m["invoice"].(map[string]any); return s }
	plan := func(me map[string]any) any { p, _ := me["plan"].(map[string]any); return p["slug"] }

	// Checkout a paid plan; the client's retry with the same key is the same checkout.
	code, first := call("POST", "/api/v1/subscription/checkout", alice, `{"plan": "basic"}`, "Idempotency-Key", "walk-1")
	if code != 201 || sub(first)["status"] != "pending" || inv(first)["status"] != "open" {
		t.Fatalf("checkout: %d %v", code, first)
	}
	code, again := call("POST", "/api/v1/subscription/checkout", alice, `{"plan": "basic"}`, "Idempotency-Key", "walk-1")
	if code != 201 || inv(again)["number"] != inv(first)["number"] {
		t.Fatalf("checkout retried: %d %v, want invoice %v", code, again, inv(first)["number"])
	}
	if code, _ := call("GET", "/api/v1/tarot/spreads/1", alice, ""); code != 404 {
		t.Errorf("no spread yet: %d", code)
	}
	if code, m := call("POST", "/api/v1/tarot/spreads", alice, ""); code != 402 {
		t.Fatalf("tarot before paying: %d %v, want 402", code, m)
	}
	url, _ := first["checkout"].(map[string]any)["url"].(string)
	_, path, ok := strings.Cut(url, "://")
	if !ok {
		t.Fatalf("checkout url %q", url)
	}
	path = path[strings.Index(path, "/"):]
	if code, m := call("POST", path+"/pay", "", ""); code != 200 || m["status"] != "paid" {
		t.Fatalf("pay: %d %v", code, m)
	}
	me := waitFor("active after the webhook event", func(code int, me map[string]any) bool {
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
		c := cards[i].(map[string]any)
		if c["position"] != want || c["meaning"] == "" || (c["orientation"] != "upright" && c["orientation"] != "reversed") {
			t.Errorf("card %d: %v", i, c)
		}
	}

	// Upgrade at mid-period: credit 250 for basic, charge 500 for pro, paid with the saved method.
	setClock(time.Date(2026, 9, 16, 0, 0, 0, 0, time.UTC))
	code, ch := call("POST", "/api/v1/subscription/change", alice, `{"plan": "pro"}`)
	if code != 200 || inv(ch)["total_minor"] != float64(250) || inv(ch)["status"] != "paid" || plan(sub(ch)) != "pro" {
		t.Fatalf("upgrade: %d %v", code, ch)
	}
	lines, _ := inv(ch)["lines"].([]any)
	if len(lines) != 2 || lines[0].(map[string]any)["amount_minor"] != float64(-250) ||
		lines[1].(map[string]any)["amount_minor"] != float64(500) {
		t.Errorf("proration lines: %v", lines)
	}

	// Renewal by the job, a day before the period ends: charged, the period moves on.
	setClock(time.Date(2026, 9, 30, 6, 0, 0, 0, time.UTC))
	waitFor("renewed by the job", func(code int, me map[string]any) bool {
		return code == 200 && me["period_end"] == "2026-11-01T00:00:00Z" && me["status"] == "active"
	})
	_, list := call("GET", "/api/v1/subscription/invoices", alice, "")
	invs, _ := list["invoices"].([]any)
	if len(invs) != 3 || invs[0].(map[string]any)["kind"] != "renewal" ||
		invs[0].(map[string]any)["total_minor"] != float64(999) || invs[0].(map[string]any)["status"] != "paid" {
		t.Fatalf("invoices after the renewal: %v", list)
	}

	// The next renewal is declined: past_due, access kept until the grace period ends.
	if code, m := call("PUT", "/api/v1/payments_fake/customers/alice", ops, `{"decline": true}`); code != 200 {
		t.Fatalf("decline: %d %v", code, m)
	}
	setClock(time.Date(2026, 10, 31, 6, 0, 0, 0, time.UTC))
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
	setClock(time.Date(2026, 11, 8, 0, 0, 1, 0, time.UTC))
	waitFor("expired after the grace period", func(code int, _ map[string]any) bool { return code == 404 })
	if code, m := call("POST", "/api/v1/tarot/spreads", alice, ""); code != 402 || m["error"] != "subscription required" {
		t.Errorf("tarot after expiry: %d %v, want 402", code, m)
	}
	if code, _ := call("GET", "/api/v1/tarot/daily", alice, ""); code != 402 {
		t.Errorf("tarot daily after expiry: %d, want 402", code)
	}
	_, list = call("GET", "/api/v1/subscription/invoices", alice, "")
	if invs, _ := list["invoices"].([]any); len(invs) != 4 || invs[0].(map[string]any)["status"] != "uncollectible" {
		t.Errorf("the unpaid renewal: %v", list)
	}
}
