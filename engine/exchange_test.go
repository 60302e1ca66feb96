package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

const itemsPlugin = `
local db = require("vbwd.db")
function P.on_enable(ctx)
  ctx:exchanger({
    key = "items.items", natural_key = "slug", fields = { "slug", "name", "price", "email" }, pii = { "email" },
    export = function(q)
      local rows, err = db.query("select slug, name, price, email from items_items order by slug limit $1 offset $2",
        q.limit, q.offset)
      if err then error(tostring(err)) end
      return rows
    end,
    import = function(rows, opts)
      local res = { created = 0, updated = 0, skipped = 0, errors = {} }
      for i, r in ipairs(rows) do
        if not tonumber(r.price) then res.errors[#res.errors + 1] = { row = i, error = "price must be a number" } end
      end
      if #res.errors > 0 then return res end
      if opts.mode == "replace_all" then db.exec("delete from items_items") end
      for _, r in ipairs(rows) do
        local row, err = db.query_one("insert into items_items (slug, name, price, email) values ($1, $2, $3, $4)"
          .. " on conflict (slug) do update set name = excluded.name, price = excluded.price, email = excluded.email"
          .. " returning (xmax = 0) as inserted", r.slug, r.name, tonumber(r.price), r.email)
        if err then error(tostring(err)) end
        if row.inserted then res.created = res.created + 1 else res.updated = res.updated + 1 end
      end
      return res
    end,
  })
end`

func exchangeEngine(t *testing.T) *testEngine {
	pool, _ := newDB(t)
	root := writeRoot(t, files{
		"plugins/items/init.lua":                            pluginSrc("items", "", itemsPlugin),
		"plugins/items/migrations/20260101000001_items.sql": "-- migrate:up\ncreate table items_items (slug text primary key, name text not null, price int not null, email text);\n-- migrate:down\ndrop table items_items;\n",
	})
	return startEngine(t, root, func(o *Options) { o.DB = pool; o.AdminToken = adminToken })
}

func checksum(t *testing.T, te *testEngine) string {
	var s string
	err := te.opts.DB.QueryRow(t.Context(), "select count(*) || ':' || coalesce(md5(string_agg(slug || name || price || coalesce(email, ''), ',' order by slug)), '') from items.items_items").Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExchange_RoundTrip10000(t *testing.T) {
	te := exchangeEngine(t)
	ctx := t.Context()
	if _, err := te.opts.DB.Exec(ctx, `insert into items.items_items select 'item-' || lpad(i::text, 5, '0'), 'Item ' || i, i % 997,
		case when i % 3 = 0 then 'user' || i || '@example.com' end from generate_series(1, 10000) i`); err != nil {
		t.Fatal(err)
	}
	before := checksum(t, te)
	if r := te.admin(t, "GET", "/admin/data-exchange", ""); r.status != 200 || !strings.Contains(r.body, `"key":"items.items"`) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	masked := te.admin(t, "GET", "/admin/data-exchange/items.items/export?format=json", "")
	if masked.status != 200 || strings.Contains(masked.body, "@example.com") || !strings.Contains(masked.body, `"email":"***"`) {
		t.Fatalf("export without pii: %d %.300s", masked.status, masked.body)
	}
	full := te.admin(t, "GET", "/admin/data-exchange/items.items/export?format=json&pii=true", "")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(full.body), &rows); err != nil || len(rows) != 10000 {
		t.Fatalf("export: %v, %d rows", err, len(rows))
	}
	if _, err := te.opts.DB.Exec(ctx, "truncate items.items_items"); err != nil {
		t.Fatal(err)
	}
	r := te.admin(t, "POST", "/admin/data-exchange/items.items/import?format=json", full.body)
	if r.status != 200 || r.json["created"] != float64(10000) || r.json["committed"] != true {
		t.Fatalf("import: %d %.500s", r.status, r.body)
	}
	if after := checksum(t, te); after != before {
		t.Errorf("round trip changed the data: %s -> %s", before, after)
	}

	// One bad row: the whole import changes nothing.
	rows[4999]["price"] = "abc"
	rows[0]["name"] = "changed"
	bad, _ := json.Marshal(rows)
	r = te.admin(t, "POST", "/admin/data-exchange/items.items/import?format=json", string(bad))
	if r.status != 422 || !strings.Contains(r.body, `{"row":5000,"error":"price must be a number"}`) || r.json["committed"] != false {
		t.Fatalf("bad row: %d %.500s", r.status, r.body)
	}
	if after := checksum(t, te); after != before {
		t.Error("a failed import changed the data")
	}
	// A dry run reports without changing.
	rows[4999]["price"] = 5
	good, _ := json.Marshal(rows)
	r = te.admin(t, "POST", "/admin/data-exchange/items.items/import?format=json&dry_run=1", string(good))
	if r.status != 200 || r.json["updated"] != float64(10000) || r.json["committed"] != false {
		t.Fatalf("dry run: %d %.500s", r.status, r.body)
	}
	if after := checksum(t, te); after != before {
		t.Error("a dry run changed the data")
	}
}

func TestExchange_CSVAndValidation(t *testing.T) {
	te := exchangeEngine(t)
	csv := "slug,name,price,email\na,Apple,3,a@x.org\nb,\"Banana, ripe\",5,\n"
	r := te.admin(t, "POST", "/admin/data-exchange/items.items/import?format=csv", csv)
	if r.status != 200 || r.json["created"] != float64(2) {
		t.Fatalf("csv import: %d %s", r.status, r.body)
	}
	r = te.admin(t, "GET", "/admin/data-exchange/items.items/export?format=csv", "")
	if r.status != 200 || r.body != "slug,name,price,email\na,Apple,3,***\nb,\"Banana, ripe\",5,\n" {
		t.Errorf("csv export: %d %q", r.status, r.body)
	}
	for name, c := range map[string]struct {
		body   string
		status int
		want   string
	}{
		"missing natural key": {`[{"name": "x", "price": 1}]`, 422, "slug (the natural key) is missing"},
		"unknown field":       {`[{"slug": "x", "name": "x", "price": 1, "colour": "red"}]`, 422, "unknown field colour"},
		"duplicate key":       {`[{"slug": "x", "name": "x", "price": 1}, {"slug": "x", "name": "y", "price": 2}]`, 422, "repeats row 1"},
		"not an array":        {`{"slug": "x"}`, 400, "array of objects"},
	} {
		r := te.admin(t, "POST", "/admin/data-exchange/items.items/import", c.body)
		if r.status != c.status || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := te.admin(t, "GET", "/admin/data-exchange/items.items/export?format=xml", ""); r.status != 400 {
		t.Errorf("bad format: %d", r.status)
	}
	if r := te.admin(t, "GET", "/admin/data-exchange/nope/export", ""); r.status != 404 {
		t.Errorf("unknown exchanger: %d", r.status)
	}
	if r := te.doAuth(t, "GET", "/admin/data-exchange/items.items/export", "", ""); r.status != 401 {
		t.Errorf("without auth: %d", r.status)
	}
}
