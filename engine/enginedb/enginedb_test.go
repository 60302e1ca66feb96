package enginedb_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/enginedb"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
)

// engineTables are the engine's own tables its migrations make.
var engineTables = []string{"vbwd.events_outbox", "vbwd.event_subscriptions", "vbwd.events_deliveries",
	"vbwd.admin_changes", "vbwd.nodes", "vbwd.jobs", "vbwd.keys",
	"vbwd.plugin_archives", "vbwd.rate_limits", "vbwd.stream_tickets"}

func migrator(t *testing.T, url string) (*plugindb.Migrator, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	m, err := plugindb.NewMigrator(pool, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, pool
}

func up(t *testing.T, m *plugindb.Migrator) {
	t.Helper()
	if err := enginedb.Up(context.Background(), m, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
}

// checkMigrated: every engine table exists and the migrations are recorded once.
func checkMigrated(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for _, tbl := range engineTables {
		var ok bool
		if err := pool.QueryRow(ctx, "select to_regclass($1) is not null", tbl).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (%v)", tbl, err)
		}
	}
	var versions []string
	rows, err := pool.Query(ctx, "select version from "+enginedb.Table+" order by version")
	if err == nil {
		for rows.Next() {
			var v string
			_ = rows.Scan(&v)
			versions = append(versions, v)
		}
		err = rows.Err()
	}
	want := []string{"20261128120000", "20261128130000"} // every file of migrations/, once
	if err != nil || strings.Join(versions, " ") != strings.Join(want, " ") {
		t.Errorf("recorded migrations %v (%v), want %v", versions, err, want)
	}
}

func TestUp_FreshDatabase(t *testing.T) {
	m, pool := migrator(t, pg.NewDatabase(t))
	up(t, m)
	checkMigrated(t, pool)
	up(t, m) // nothing pending: a no-op
	checkMigrated(t, pool)
}

// A database the engine before migrations created (its DDL strings, with
// rows in it) starts fine: the first migration changes nothing and is
// recorded.
func TestUp_OverTablesOfTheEngineBeforeMigrations(t *testing.T) {
	m, pool := migrator(t, pg.NewDatabase(t))
	ctx := context.Background()
	old, err := os.ReadFile("testdata/before_migrations.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(old)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `insert into vbwd.events_outbox (id, name, source, status, waiting_for)
		values ('8a1c0c52-5a3e-4c0e-9b4e-1f2d3c4b5a69', 'a.created', 'a', 'parked', '{b}');
		insert into vbwd.keys values ('stream', '\x01');
		insert into vbwd.admin_changes (node, action) values ('n1', 'rescan')`); err != nil {
		t.Fatal(err)
	}
	up(t, m)
	checkMigrated(t, pool)
	var n int
	if err := pool.QueryRow(ctx, `select (select count(*) from vbwd.events_outbox where status = 'parked')
		+ (select count(*) from vbwd.keys) + (select count(*) from vbwd.admin_changes)`).Scan(&n); err != nil || n != 3 {
		t.Errorf("rows kept: %d (%v), want 3", n, err)
	}
}

// Two engines starting at once on one fresh database both succeed: the
// migration lock serialises them, the second finds the migration applied.
func TestUp_TwoAtOnceOnAFreshDatabase(t *testing.T) {
	url := pg.NewDatabase(t)
	m1, pool := migrator(t, url)
	m2, _ := migrator(t, url)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, m := range []*plugindb.Migrator{m1, m2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = enginedb.Up(context.Background(), m, slog.New(slog.NewTextHandler(io.Discard, nil)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("engine %d: %v", i+1, err)
		}
	}
	checkMigrated(t, pool)
}
