package engine

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

// passwordCluster starts a PostgreSQL of its own whose pg_hba.conf trusts
// the engine's user (postgres) but wants a password (scram) from every other
// role — like a server behind DATABASE_URL.
func passwordCluster(t *testing.T) *pgdev.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user of a root run must reach it
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := pgdev.Start(ctx, pgdev.Options{DataDir: filepath.Join(dir, "pg"), Database: "app",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	hba := "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(c.DataDir(), "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := openPool(t, c.URL())
	if _, err := admin.Exec(ctx, "select pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	return c
}

// On a server that wants passwords, plugin roles log in with the password
// derived from the secret (pgx pool and dbmate alike); a role whose
// password changed gets it back at the next start; without a secret the
// plugin fails saying how to fix it.
func TestPluginSQL_RolePasswords(t *testing.T) {
	c := passwordCluster(t)
	root := leastPrivilegeRoot(t)
	whoami := func(te *testEngine) string {
		t.Helper()
		if st := te.status(t, "probe"); st.State != StateEnabled {
			t.Fatalf("probe is %s: %s", st.State, st.Error)
		}
		res := te.do(t, "POST", "/api/probe/esc", `{"sql": "select 1"}`)
		cur, _ := res.json["cur"].(string)
		return cur
	}
	a := startEngine(t, root, func(o *Options) { o.DB = openPool(t, c.URL()); o.DBRoleSecret = "s3cret" })
	if who := whoami(a); who != "vbwd_plugin_probe" {
		t.Fatalf("plugin SQL runs as %q", who)
	}
	if _, err := a.opts.DB.Exec(context.Background(), "alter role vbwd_plugin_probe password 'changed'"); err != nil {
		t.Fatal(err)
	}
	b := startEngine(t, root, func(o *Options) { o.DB = openPool(t, c.URL()); o.DBRoleSecret = "s3cret" })
	if who := whoami(b); who != "vbwd_plugin_probe" || !strings.Contains(b.logs.String(), "database role password set") {
		t.Errorf("after a password change: runs as %q; log:\n%s", who, b.logs.String())
	}
	nosecret := startEngine(t, root, func(o *Options) { o.DB = openPool(t, c.URL()) })
	st := nosecret.status(t, "probe")
	if st.State != StateFailed || !strings.Contains(st.Error, "VBWD_DB_ROLE_SECRET") || !strings.Contains(st.Error, "pg_hba.conf") {
		t.Errorf("without a secret: %s %s", st.State, st.Error)
	}
}
