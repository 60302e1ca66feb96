package engine

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// Extensions a plugin declares are created by the engine when PostgreSQL
// marks them trusted; an untrusted one fails the plugin with its name.
func TestPluginSQL_DeclaredExtensions(t *testing.T) {
	pool, _ := newDB(t)
	root := writeRoot(t, files{
		"plugins/booking/init.lua": pluginSrc("booking", `, extensions = {"btree_gist"}`, ""),
		"plugins/booking/migrations/20260101000001_slots.sql": "-- migrate:up\n" +
			"create table booking_slots (room int, during tstzrange, exclude using gist (room with =, during with &&));\n" +
			"-- migrate:down\ndrop table booking_slots;\n",
		"plugins/files/init.lua": pluginSrc("files", `, extensions = {"file_fdw"}`, ""),
	})
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	if st := te.status(t, "booking"); st.State != StateEnabled {
		t.Errorf("booking (btree_gist, trusted) is %s: %s", st.State, st.Error)
	}
	st := te.status(t, "files")
	if st.State != StateFailed || !strings.Contains(st.Error, "plugin files") || !strings.Contains(st.Error, `"file_fdw"`) ||
		!strings.Contains(st.Error, "trusted") {
		t.Errorf("files (file_fdw, untrusted) is %s: %s", st.State, st.Error)
	}
	if n := countRows(t, te, "select count(*) from pg_extension where extname = 'file_fdw'"); n != 0 {
		t.Errorf("file_fdw was created")
	}
}

// A database of the earlier layout — plugin tables in public owned by the
// engine's user, versions in vbwd_migrations.<plugin> — is moved into the
// plugin's schema on first start: no migration runs again, the data stays,
// and a table of another plugin with a longer name stays where it is.
func TestPluginSQL_UpgradeMovesLegacyTables(t *testing.T) {
	pool, _ := newDB(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		create schema vbwd_migrations;
		create table vbwd_migrations.shop (version varchar primary key);
		insert into vbwd_migrations.shop values ('20260101000001');
		create type shop_state as enum ('open', 'closed');
		create table shop_items (id serial primary key, name text, state shop_state);
		create index shop_items_name on shop_items (name);
		insert into shop_items (name, state) values ('kept', 'open');
		create sequence shop_tickets;
		create view shop_names as select name from shop_items;
		create table shop_log (at date) partition by range (at);
		create table shop_log_2026 partition of shop_log for values from ('2026-01-01') to ('2027-01-01');
		create table shop_extra_things (x int);
		create table unrelated (x int);`)
	if err != nil {
		t.Fatal(err)
	}
	root := writeRoot(t, files{
		"plugins/shop/init.lua": pluginSrc("shop", "", `
local db = require("vbwd.db")
function P.routes(r)
  r:post("/add", function()
    assert(db.exec("insert into shop_items (name, state) values ('new', 'closed')"))
    local row = assert(db.query_one("select count(*)::int as n, nextval('shop_tickets')::int as t from shop_names"))
    return 200, row
  end)
end`),
		"plugins/shop/migrations/20260101000001_items.sql": "-- migrate:up\ncreate table shop_items (id serial primary key);\n" +
			"-- migrate:down\ndrop table shop_items;\n",
		"plugins/shop_extra/init.lua": pluginSrc("shop_extra", "", ""),
	})
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	for _, p := range []string{"shop", "shop_extra"} {
		if st := te.status(t, p); st.State != StateEnabled {
			t.Fatalf("%s is %s: %s", p, st.State, st.Error)
		}
	}
	if res := te.do(t, "POST", "/api/shop/add", ""); res.status != 200 || res.json["n"] != float64(2) || res.json["t"] != float64(1) {
		t.Errorf("after the upgrade the plugin reads %d %s, want n=2 t=1", res.status, res.body)
	}
	where := func(rel string) string {
		var s string
		if err := pool.QueryRow(ctx, `select n.nspname || ':' || pg_get_userbyid(c.relowner) from pg_class c
			join pg_namespace n on n.oid = c.relnamespace where c.relname = $1`, rel).Scan(&s); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return s
	}
	for rel, want := range map[string]string{
		"shop_items": "shop:vbwd_plugin_shop", "shop_items_id_seq": "shop:vbwd_plugin_shop", "shop_items_name": "shop:vbwd_plugin_shop",
		"shop_tickets": "shop:vbwd_plugin_shop", "shop_names": "shop:vbwd_plugin_shop", "vbwd_migrations": "shop:vbwd_plugin_shop",
		"shop_log": "shop:vbwd_plugin_shop", "shop_log_2026": "shop:vbwd_plugin_shop",
		"shop_extra_things": "shop_extra:vbwd_plugin_shop_extra", "unrelated": "public:postgres",
	} {
		if got := where(rel); got != want {
			t.Errorf("%s is in %s, want %s", rel, got, want)
		}
	}
	if n := countRows(t, te, "select count(*) from pg_type where typname = 'shop_state' and typnamespace = 'shop'::regnamespace"); n != 1 {
		t.Errorf("type shop_state was not moved")
	}
	if n := countRows(t, te, "select count(*) from shop.vbwd_migrations"); n != 1 {
		t.Errorf("shop.vbwd_migrations has %d versions, want the one moved", n)
	}
}

// Plugin names that are, or could shadow, other schemas are refused, and so
// is a schema of the plugin's name that belongs to someone else than the
// engine (another application's, on a shared database).
func TestPluginSQL_ReservedSchemaNames(t *testing.T) {
	pool, _ := newDB(t)
	_, err := pool.Exec(context.Background(), "drop role if exists billing_app; create role billing_app; "+
		"create schema billing authorization billing_app; create table billing.invoices (n int); "+
		"alter table billing.invoices owner to billing_app")
	if err != nil {
		t.Fatal(err)
	}
	root := writeRoot(t, files{
		"plugins/pg_temp_x/init.lua": pluginSrc("pg_temp_x", "", ""),
		"plugins/vbwd_api/init.lua":  pluginSrc("vbwd_api", "", ""),
		"plugins/public/init.lua":    pluginSrc("public", "", ""),
		"plugins/billing/init.lua":   pluginSrc("billing", "", ""),
		"plugins/postgres/init.lua":  pluginSrc("postgres", "", ""), // the engine's user: "$user" on its search_path
	})
	te := startEngine(t, root, func(o *Options) { o.DB = pool })
	for _, p := range []string{"pg_temp_x", "vbwd_api", "public", "postgres"} {
		if st := te.status(t, p); st.State != StateFailed || !strings.Contains(st.Error, "plugin name") {
			t.Errorf("%s is %s: %s", p, st.State, st.Error)
		}
	}
	if st := te.status(t, "billing"); st.State != StateFailed || !strings.Contains(st.Error, "belongs to billing_app") {
		t.Errorf("billing is %s: %s", st.State, st.Error)
	}
	if n := countRows(t, te, "select count(*) from pg_tables where tablename = 'invoices' and tableowner = 'billing_app'"); n != 1 {
		t.Error("the other application's table was taken over")
	}
}

// An engine whose user may create no roles refuses plugin SQL, unless ops
// opt in to the shared user; one with CREATEROLE (no superuser) gives each
// plugin its role as a superuser does.
func TestPluginSQL_EngineUserRights(t *testing.T) {
	for _, c := range []struct {
		name, attrs string
		unsafe      bool
		want        LifecycleState
		wantUser    string
	}{
		{"plain", "login", false, StateFailed, ""},
		{"plain_unsafe", "login", true, StateEnabled, "vbwd_t_plain_unsafe"},
		{"creator", "login createrole", false, StateEnabled, "vbwd_plugin_probe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			admin, u := newDB(t)
			ctx := context.Background()
			user := "vbwd_t_" + c.name
			db := strings.TrimPrefix(mustURL(t, u).Path, "/")
			_, err := admin.Exec(ctx, "drop role if exists "+user+"; create role "+user+" "+c.attrs+
				"; alter database "+db+" owner to "+user+"; alter schema public owner to "+user)
			if err != nil {
				t.Fatal(err)
			}
			asUser := mustURL(t, u)
			asUser.User = url.User(user)
			pool := openPool(t, asUser.String())
			te := startEngine(t, leastPrivilegeRoot(t), func(o *Options) { o.DB = pool; o.UnsafeSharedDBRole = c.unsafe })
			st := te.status(t, "probe")
			if st.State != c.want {
				t.Fatalf("probe is %s: %s", st.State, st.Error)
			}
			if c.want == StateFailed {
				if !strings.Contains(st.Error, "plugin SQL is refused") || !strings.Contains(st.Error, "--unsafe-shared-db-role") {
					t.Errorf("error: %s", st.Error)
				}
				// a plugin without migrations starts; its SQL gets the refusal
				free := startEngine(t, writeRoot(t, files{"plugins/free/init.lua": pluginSrc("free", "", `
local db = require("vbwd.db")
function P.routes(r)
  r:get("/", function() local _, err = db.query("select 1"); return 200, { err = err and err.message } end)
end`)}), func(o *Options) { o.DB = pool })
				if res := free.do(t, "GET", "/api/free", ""); !strings.Contains(res.body, "plugin SQL is refused") {
					t.Errorf("plugin SQL without a role: %d %s", res.status, res.body)
				}
				return
			}
			res := te.do(t, "POST", "/api/probe/esc", `{"sql": "select 1"}`)
			if res.json["cur"] != c.wantUser {
				t.Errorf("plugin SQL runs as %s, want %s", res.body, c.wantUser)
			}
			if c.unsafe && !strings.Contains(te.logs.String(), "UNSAFE") {
				t.Errorf("no warning in the log")
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
