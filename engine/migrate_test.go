package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

const migLog = `
-- migrate:up
create table if not exists mig_log (file text);
insert into mig_log values ('%[1]s');
%[2]s
-- migrate:down
delete from mig_log where file = '%[1]s';
%[3]s
`

func migFile(name, up, down string) string { return fmt.Sprintf(migLog, name, up, down) }

func countRows(t *testing.T, e *testEngine, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.opts.DB.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestMigrations_ThreeEnginesAtOnce(t *testing.T) {
	_, url := newDB(t)
	root := writeRoot(t, files{
		"plugins/m/init.lua":                            pluginSrc("m", "", ""),
		"plugins/m/migrations/20260101000001_one.sql":   migFile("one", "create table m_items (id int primary key);", "drop table m_items;"),
		"plugins/m/migrations/20260101000002_two.sql":   migFile("two", "alter table m_items add column name text;", "alter table m_items drop column name;"),
		"plugins/m/migrations/20260101000003_three.sql": migFile("three", "insert into m_items values (1, 'x');", "delete from m_items;"),
	})
	var wg sync.WaitGroup
	engines := make([]*testEngine, 3)
	for i := range engines {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			engines[i] = startEngine(t, root, func(o *Options) { o.DB = openPool(t, url) })
		}(i)
	}
	wg.Wait()
	for i, e := range engines {
		if st := e.status(t, "m"); st.State != StateEnabled {
			t.Errorf("engine %d: m is %s: %s", i, st.State, st.Error)
		}
	}
	e := engines[0]
	if n := countRows(t, e, "select count(*) from m.mig_log"); n != 3 {
		t.Errorf("mig_log has %d rows, want 3 (each file applied once)", n)
	}
	if n := countRows(t, e, "select count(*) from m.vbwd_migrations"); n != 3 {
		t.Errorf("m.vbwd_migrations has %d versions, want 3", n)
	}
}

func TestMigrations_BrokenFile(t *testing.T) {
	pool, _ := newDB(t)
	root := writeRoot(t, files{
		"plugins/bad/init.lua":                             pluginSrc("bad", "", ""),
		"plugins/bad/migrations/20260101000001_ok.sql":     migFile("ok", "create table bad_a (id int);", "drop table bad_a;"),
		"plugins/bad/migrations/20260101000002_broken.sql": "-- migrate:up\ncreate table bad_b (id int);\n\ninsert into bad_b values (1);\nselect * from no_such_table;\n-- migrate:down\ndrop table bad_b;\n",
		"plugins/dependent/init.lua":                       pluginSrc("dependent", `, dependencies = {"bad"}`, ""),
		"plugins/good/init.lua":                            pluginSrc("good", "", `function P.routes(r) r:get("/", function() return 200, {} end) end`),
		"plugins/good/migrations/20260101000001_g.sql":     "-- migrate:up\ncreate table good_t (id int);\n-- migrate:down\ndrop table good_t;\n",
	})
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	st := te.status(t, "bad")
	if st.State != StateFailed || st.ErrorFile != "plugins/bad/migrations/20260101000002_broken.sql" || st.ErrorLine != 5 ||
		!strings.Contains(st.Error, `relation "no_such_table" does not exist`) {
		t.Fatalf("bad: %s %s:%d %s", st.State, st.ErrorFile, st.ErrorLine, st.Error)
	}
	if st := te.status(t, "dependent"); st.State != StateFailed || !strings.Contains(st.Error, "dependent -> bad") {
		t.Errorf("dependent: %s %s", st.State, st.Error)
	}
	if st := te.status(t, "good"); st.State != StateEnabled {
		t.Errorf("good: %s %s", st.State, st.Error)
	}
	if r := te.do(t, "GET", "/api/good/", ""); r.status != 200 {
		t.Errorf("good answers %d", r.status)
	}
	if n := countRows(t, te, "select count(*) from bad.vbwd_migrations"); n != 1 {
		t.Errorf("bad has %d versions recorded, want 1 (the good file only)", n)
	}
	if n := countRows(t, te, "select count(*) from information_schema.tables where table_name = 'bad_b'"); n != 0 {
		t.Error("the broken file was half-applied: bad_b exists")
	}
}

func TestMigrations_DownUpRoundTrip(t *testing.T) {
	pool, _ := newDB(t)
	root := writeRoot(t, files{
		"plugins/m/init.lua":                          pluginSrc("m", "", ""),
		"plugins/m/migrations/20260101000001_one.sql": migFile("one", "create table m_items (id int primary key);", "drop table m_items;"),
		"plugins/m/migrations/20260101000002_two.sql": migFile("two", "alter table m_items add column name text;", "alter table m_items drop column name;"),
	})
	m, err := NewMigrator(pool, root, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	applied, err := m.Up(ctx, "m")
	if err != nil || len(applied) != 2 || applied[0] != "plugins/m/migrations/20260101000001_one.sql" {
		t.Fatalf("up: %v %v", applied, err)
	}
	down, err := m.Down(ctx, "m", 5)
	if err != nil || len(down) != 2 || down[0] != "plugins/m/migrations/20260101000002_two.sql" {
		t.Fatalf("down: %v %v", down, err)
	}
	st, err := m.Status(ctx, "m")
	if err != nil || len(st) != 2 || st[0].Applied || st[1].Applied {
		t.Fatalf("status after down: %+v %v", st, err)
	}
	var n int
	if err := pool.QueryRow(ctx, "select count(*) from information_schema.tables where table_name = 'm_items'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("m_items after down: %d %v", n, err)
	}
	if applied, err := m.Up(ctx, "m"); err != nil || len(applied) != 2 {
		t.Fatalf("up again: %v %v", applied, err)
	}
	if applied, err := m.Up(ctx, "m"); err != nil || len(applied) != 0 {
		t.Fatalf("up when up to date: %v %v", applied, err)
	}
	if err := pool.QueryRow(ctx, "select count(*) from m.mig_log").Scan(&n); err != nil || n != 2 {
		t.Fatalf("mig_log: %d %v", n, err)
	}
}

func TestMigrations_NoDatabase(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/m/init.lua":                          pluginSrc("m", "", ""),
		"plugins/m/migrations/20260101000001_one.sql": migFile("one", "", ""),
	})
	te := startEngine(t, root, nil)
	if st := te.status(t, "m"); st.State != StateFailed || !strings.Contains(st.Error, "no database") {
		t.Errorf("m: %s %s", st.State, st.Error)
	}
}

func TestNewMigration(t *testing.T) {
	root := writeRoot(t, files{"plugins/m/init.lua": pluginSrc("m", "", "")})
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	file, err := NewMigration(root, "m", "create_items", now)
	if err != nil || file != "plugins/m/migrations/20261126120000_create_items.sql" {
		t.Fatalf("%s %v", file, err)
	}
	if file, err := NewMigration(root, "m", "add_name", now); err != nil || file != "plugins/m/migrations/20261126120001_add_name.sql" {
		t.Errorf("a second migration in the same second: %s %v (want the next free version)", file, err)
	}
	for _, bad := range [][2]string{{"nope", "x"}, {"m", "Bad Name"}} {
		if _, err := NewMigration(root, bad[0], bad[1], now); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
