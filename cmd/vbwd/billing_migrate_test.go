package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBillingMigrationsRollBack: the billing migrations of subscription,
// tarot, meinchat and payments_fake roll back and apply again (their down
// sections are real SQL, not only written).
func TestBillingMigrationsRollBack(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	root := copyHello(t, map[string]string{"plugins.json": `{"plugins": {"subscription": {"enabled": true},
		"tarot": {"enabled": true}, "meinchat": {"enabled": true}, "payments_fake": {"enabled": true}}}`})
	for _, p := range []string{"subscription", "tarot", "meinchat", "payments_fake"} {
		copyPlugin(t, p, root)
	}
	ctx := context.Background()
	run := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, ctx, append(args, "--root", root)...)
		if err != nil {
			t.Fatalf("vbwd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	run("migrate", "up")
	run("populate") // rows in the tables the down sections change
	for _, p := range []string{"payments_fake", "tarot", "meinchat"} {
		if out := run("migrate", "down", p, "--steps", "1"); !strings.Contains(out, "rolled back") {
			t.Errorf("down %s:\n%s", p, out)
		}
	}
	// subscription's own, once nothing that depends on it is enabled
	if err := os.WriteFile(filepath.Join(root, "plugins.json"),
		[]byte(`{"plugins": {"subscription": {"enabled": true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run("migrate", "down", "subscription", "--steps", "1"); !strings.Contains(out,
		"rolled back plugins/subscription/migrations/20261220120000_billing.sql") {
		t.Errorf("down subscription:\n%s", out)
	}
	if out := run("migrate", "up"); !strings.Contains(out, "20261220120000_billing.sql") {
		t.Errorf("up again:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(root, "plugins.json"), []byte(`{"plugins": {"subscription": {"enabled": true},
		"tarot": {"enabled": true}, "meinchat": {"enabled": true}, "payments_fake": {"enabled": true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run("migrate", "up")
	for _, f := range []string{"20261220130000_create_payments_fake.sql", "20261220120000_create_spreads.sql",
		"20261220120000_direct_messages.sql"} {
		if !strings.Contains(out, f) {
			t.Errorf("up again: %s not applied:\n%s", f, out)
		}
	}
}
