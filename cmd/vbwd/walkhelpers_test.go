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

// The steps the walks share, each written once: the chat walks' start
// (TestBusinessWalk, TestStreamTicket_BrowserEventSource) and the billing
// walk on the engine's clock (TestBillingWalk, TestFullWalk).

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

// mintToken mints an HS256 token for id with roles, valid for an hour of
// real time.
func mintToken(t *testing.T, secret, id string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(secret, id, roles, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// enabledPlugins is a plugins.json enabling plugins.
func enabledPlugins(plugins ...string) string {
	m := map[string]map[string]bool{}
	for _, p := range plugins {
		m[p] = map[string]bool{"enabled": true}
	}
	b, _ := json.Marshal(map[string]any{"plugins": m})
	return string(b)
}

// serveWalk runs `vbwd serve --populate` over a fresh database with the
// shipped plugins enabled and the HS256 secret, until the test ends; it
// returns the server's base URL.
func serveWalk(t *testing.T, secret string, plugins ...string) string {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_JWT_SECRET", secret)
	root := copyHello(t, map[string]string{"plugins.json": enabledPlugins(plugins...)})
	for _, p := range plugins {
		copyPlugin(t, p, root)
	}
	base, stop := serveUntil(t, root, "--populate")
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return base
}

// grantBasic has an administrator grant the basic plan to users: a paid
// plan is live only once paid (which the billing walks cover).
func grantBasic(t *testing.T, base, secret string, users ...string) {
	t.Helper()
	ops := mintToken(t, secret, "ops", "admin")
	for _, id := range users {
		if code, m := walkCall(t, base, "POST", "/api/v1/subscription/grants", ops, `{"user_id": "`+id+`", "plan": "basic"}`); code != 201 {
			t.Fatalf("grant: %d %v", code, m)
		}
	}
}

// teaRoom has owner make meinchat's room "tea" and member join it.
func teaRoom(t *testing.T, base, owner, member string) {
	t.Helper()
	if code, m := walkCall(t, base, "POST", "/api/v1/meinchat/rooms", owner, `{"slug": "tea", "title": "Tea"}`); code != 201 {
		t.Fatalf("room: %d %v", code, m)
	}
	if code, m := walkCall(t, base, "POST", "/api/v1/meinchat/rooms/tea/join", member, ""); code != 201 && code != 200 {
		t.Fatalf("join: %d %v", code, m)
	}
}

// walkClock is the engine's clock (Options.Clock) in the billing walks:
// the test moves it, the scheduler and vbwd.time follow it.
type walkClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *walkClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *walkClock) Set(to time.Time)    { c.mu.Lock(); c.now = to; c.mu.Unlock() }
func (c *walkClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// startClockEngine starts an engine on root over a fresh database with a
// clock at 2026-09-01 (a 30-day month), checks that plugins are enabled,
// populates, and serves it over loopback HTTP until the test ends. opts
// adds what the walk needs (secrets, keys). It returns the base URL, the
// database URL and the clock.
func startClockEngine(t *testing.T, root string, opts engine.Options, plugins ...string) (string, string, *walkClock) {
	t.Helper()
	ctx := context.Background()
	dbURL := pg.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	clock := &walkClock{now: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
	opts.Root, opts.DB, opts.Clock = root, pool, clock.Now
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := engine.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	for _, p := range plugins {
		if st, _ := e.Plugin(p); st.State != engine.StateEnabled {
			t.Fatalf("%s is %s: %s", p, st.State, st.Error)
		}
	}
	if _, err := e.Populate(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, dbURL, clock
}

// billingWalk is one user's subscription over the engine's clock, with the
// shipped subscription, tarot and payments_fake plugins.
type billingWalk struct {
	t     *testing.T
	base  string
	clock *walkClock
	tok   string // the user's access token
	user  string // the user's id (payments_fake's customer)
	ops   string // an administrator's token
	// login, when set, gives a new access token after the clock moved
	// (the old one must then have expired).
	login func() string
}

func (w *billingWalk) call(method, path, body string, headers ...string) (int, map[string]any) {
	w.t.Helper()
	return walkCall(w.t, w.base, method, path, w.tok, body, headers...)
}

// moveTo sets the engine's clock, logging in again where tokens expire on it.
func (w *billingWalk) moveTo(to time.Time) {
	w.t.Helper()
	w.clock.Set(to)
	if w.login == nil {
		return
	}
	if code, _ := w.call("GET", "/api/v1/subscription/me", ""); code != 401 {
		w.t.Errorf("an access token from before %s: %d, want 401", to, code)
	}
	w.tok = w.login()
}

// waitMe polls GET /me until cond holds, moving the clock on a little each
// time (a job run claimed less than a real second after the previous one
// is skipped, and runs again when next due).
func (w *billingWalk) waitMe(what string, cond func(code int, me map[string]any) bool) map[string]any {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, me := w.call("GET", "/api/v1/subscription/me", "")
		if cond(code, me) {
			return me
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not within 20s; last /me: %d %v", what, code, me)
		}
		time.Sleep(100 * time.Millisecond)
		w.clock.Add(2 * time.Second)
	}
}

func walkSub(m map[string]any) map[string]any  { s, _ := m["subscription"].(map[string]any); return s }
func walkInv(m map[string]any) map[string]any  { s, _ := m["invoice"].(map[string]any); return s }
func walkPlan(me map[string]any) any           { p, _ := me["plan"].(map[string]any); return p["slug"] }
func walkRow(list []any, i int) map[string]any { r, _ := list[i].(map[string]any); return r }

// checkout starts a checkout of the basic plan with an Idempotency-Key.
func (w *billingWalk) checkout(key string) map[string]any {
	w.t.Helper()
	code, co := w.call("POST", "/api/v1/subscription/checkout", `{"plan": "basic"}`, "Idempotency-Key", key)
	if code != 201 || walkSub(co)["status"] != "pending" || walkInv(co)["status"] != "open" {
		w.t.Fatalf("checkout: %d %v", code, co)
	}
	return co
}

// pay checks that tarot refuses before paying, pays at the provider's
// checkout URL and waits for its webhook event to make the plan active.
func (w *billingWalk) pay(co map[string]any) {
	w.t.Helper()
	if code, m := w.call("POST", "/api/v1/tarot/spreads", ""); code != 402 {
		w.t.Fatalf("tarot before paying: %d %v, want 402", code, m)
	}
	url, _ := co["checkout"].(map[string]any)["url"].(string)
	_, path, ok := strings.Cut(url, "://")
	if !ok || !strings.Contains(path, "/") {
		w.t.Fatalf("checkout url %q", url)
	}
	path = path[strings.Index(path, "/"):]
	if code, m := walkCall(w.t, w.base, "POST", path+"/pay", "", ""); code != 200 || m["status"] != "paid" {
		w.t.Fatalf("pay: %d %v", code, m)
	}
	me := w.waitMe("active after the webhook event", func(code int, me map[string]any) bool {
		return code == 200 && me["status"] == "active"
	})
	if me["period_end"] != "2026-10-01T00:00:00Z" || walkPlan(me) != "basic" {
		w.t.Fatalf("active: %v", me)
	}
}

// spread draws tarot's three-card spread.
func (w *billingWalk) spread() {
	w.t.Helper()
	code, spread := w.call("POST", "/api/v1/tarot/spreads", `{"spread": "three-card"}`)
	cards, _ := spread["cards"].([]any)
	if code != 201 || len(cards) != 3 {
		w.t.Fatalf("spread: %d %v", code, spread)
	}
	for i, want := range []string{"past", "present", "future"} {
		c := walkRow(cards, i)
		if c["position"] != want || c["meaning"] == "" || (c["orientation"] != "upright" && c["orientation"] != "reversed") {
			w.t.Errorf("card %d: %v", i, c)
		}
	}
}

// upgrade changes to pro at mid-period: credit 250 for basic, charge 500
// for pro, paid with the saved method.
func (w *billingWalk) upgrade() {
	w.t.Helper()
	w.moveTo(time.Date(2026, 9, 16, 0, 0, 0, 0, time.UTC))
	code, ch := w.call("POST", "/api/v1/subscription/change", `{"plan": "pro"}`)
	if code != 200 || walkInv(ch)["total_minor"] != float64(250) || walkInv(ch)["status"] != "paid" || walkPlan(walkSub(ch)) != "pro" {
		w.t.Fatalf("upgrade: %d %v", code, ch)
	}
	lines, _ := walkInv(ch)["lines"].([]any)
	if len(lines) != 2 || walkRow(lines, 0)["amount_minor"] != float64(-250) || walkRow(lines, 1)["amount_minor"] != float64(500) {
		w.t.Errorf("proration lines: %v", lines)
	}
}

// renew lets the billing job renew a day before the period ends: charged,
// the period moves on.
func (w *billingWalk) renew() {
	w.t.Helper()
	w.moveTo(time.Date(2026, 9, 30, 6, 0, 0, 0, time.UTC))
	w.waitMe("renewed by the job", func(code int, me map[string]any) bool {
		return code == 200 && me["period_end"] == "2026-11-01T00:00:00Z" && me["status"] == "active"
	})
	_, list := w.call("GET", "/api/v1/subscription/invoices", "")
	invs, _ := list["invoices"].([]any)
	if len(invs) != 3 || walkRow(invs, 0)["kind"] != "renewal" ||
		walkRow(invs, 0)["total_minor"] != float64(999) || walkRow(invs, 0)["status"] != "paid" {
		w.t.Fatalf("invoices after the renewal: %v", list)
	}
}

// decline has the provider decline the next renewal: past_due, access kept
// until the grace period ends.
func (w *billingWalk) decline() {
	w.t.Helper()
	if code, m := walkCall(w.t, w.base, "PUT", "/api/v1/payments_fake/customers/"+w.user, w.ops, `{"decline": true}`); code != 200 {
		w.t.Fatalf("decline: %d %v", code, m)
	}
	w.moveTo(time.Date(2026, 10, 31, 6, 0, 0, 0, time.UTC))
	me := w.waitMe("past_due after a declined renewal", func(code int, me map[string]any) bool {
		return code == 200 && me["status"] == "past_due"
	})
	if me["grace_until"] != "2026-11-08T00:00:00Z" {
		w.t.Errorf("grace_until: %v", me["grace_until"])
	}
	if code, m := w.call("POST", "/api/v1/tarot/spreads", ""); code != 201 {
		w.t.Errorf("tarot within the grace period: %d %v", code, m)
	}
}

// expire moves past the grace period: expired, tarot answers 402, and the
// unpaid renewal is uncollectible.
func (w *billingWalk) expire() {
	w.t.Helper()
	w.moveTo(time.Date(2026, 11, 8, 0, 0, 1, 0, time.UTC))
	w.waitMe("expired after the grace period", func(code int, _ map[string]any) bool { return code == 404 })
	if code, m := w.call("POST", "/api/v1/tarot/spreads", ""); code != 402 || m["error"] != "subscription required" {
		w.t.Errorf("tarot after expiry: %d %v, want 402", code, m)
	}
	if code, _ := w.call("GET", "/api/v1/tarot/daily", ""); code != 402 {
		w.t.Errorf("tarot daily after expiry: %d, want 402", code)
	}
	_, list := w.call("GET", "/api/v1/subscription/invoices", "")
	if invs, _ := list["invoices"].([]any); len(invs) != 4 || walkRow(invs, 0)["status"] != "uncollectible" {
		w.t.Errorf("the unpaid renewal: %v", list)
	}
}
