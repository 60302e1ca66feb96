package testpg_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
)

var srv *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &srv) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var exists bool
	err := connect(t, srv.URL()).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	return exists
}

func TestServer_NewDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var names []string
	t.Run("databases are isolated", func(t *testing.T) {
		a, b := srv.NewDatabase(t), srv.NewDatabase(t)
		if a == b {
			t.Fatalf("both databases have URL %s", a)
		}
		connA, connB := connect(t, a), connect(t, b)
		if _, err := connA.Exec(ctx, "CREATE TABLE only_in_a (v int)"); err != nil {
			t.Fatal(err)
		}
		var visible bool
		if err := connB.QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&visible); err != nil {
			t.Fatal(err)
		}
		if visible {
			t.Fatal("a table created in one database is visible in the other")
		}
		for _, conn := range []*pgx.Conn{connA, connB} {
			var name string
			if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(name, "test_testserver_newdatabase_databases_") {
				t.Errorf("database name %q does not tell which test made it", name)
			}
			names = append(names, name)
		}
	})
	if len(names) != 2 {
		t.Fatal("subtest did not report its databases")
	}
	for _, name := range names {
		if databaseExists(t, name) {
			t.Errorf("database %s survived its test's cleanup", name)
		}
	}
}

func TestStart_ExternalServer(t *testing.T) {
	t.Setenv(testpg.EnvURL, srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	external, err := testpg.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if external.URL() != srv.URL() {
		t.Fatalf("URL() = %q, want %s's value %q", external.URL(), testpg.EnvURL, srv.URL())
	}
	var one int
	if err := connect(t, external.NewDatabase(t)).QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 on a new database: %d, %v", one, err)
	}
	external.Stop()
	if err := connect(t, srv.URL()).Ping(ctx); err != nil {
		t.Fatalf("Stop of a server named by %s stopped it: %v", testpg.EnvURL, err)
	}
}
