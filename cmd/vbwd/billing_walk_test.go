package main

import (
	"testing"

	"github.com/vbwd-platform/vbwd-engine/engine"
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
// secret (TestFullWalk walks the same steps with the accounts plugin's).
func TestBillingWalk(t *testing.T) {
	const secret = "billing-walk-secret"
	plugins := []string{"subscription", "tarot", "payments_fake"}
	root := copyHello(t, map[string]string{
		"plugins.json": enabledPlugins(plugins...),
		// the billing job every second (of the engine's clock, claimed in real time)
		"config.json": `{"subscription": {"expiry_check_seconds": 1}}`,
	})
	for _, p := range plugins {
		copyPlugin(t, p, root)
	}
	base, _, clock := startClockEngine(t, root, engine.Options{JWTSecret: secret}, plugins...)
	w := &billingWalk{t: t, base: base, clock: clock, user: "alice",
		tok: mintToken(t, secret, "alice", "subscriber"), ops: mintToken(t, secret, "ops", "admin")}

	// Checkout a paid plan; the client's retry with the same key is the same checkout.
	first := w.checkout("walk-1")
	code, again := w.call("POST", "/api/v1/subscription/checkout", `{"plan": "basic"}`, "Idempotency-Key", "walk-1")
	if code != 201 || walkInv(again)["number"] != walkInv(first)["number"] {
		t.Fatalf("checkout retried: %d %v, want invoice %v", code, again, walkInv(first)["number"])
	}
	if code, _ := w.call("GET", "/api/v1/tarot/spreads/1", ""); code != 404 {
		t.Errorf("no spread yet: %d", code)
	}
	w.pay(first)
	w.spread()
	w.upgrade()
	w.renew()
	w.decline()
	w.expire()
}
