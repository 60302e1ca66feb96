package engine

import (
	"strings"
	"testing"
)

const typedPlugin = `
local shared = require("vbwd.shared")
local json = require("vbwd.json")
function P.on_enable(ctx)
  ctx:exchanger({
    key = "typed.rows", natural_key = "slug", fields = { "slug", "price", "ratio", "active", "meta", "at" },
    types = { price = "integer", ratio = "number", active = "boolean", meta = "json", at = "timestamp" },
    export = function() return {} end,
    import = function(rows)
      for _, r in ipairs(rows) do
        shared.set("seen:" .. r.slug, json.encode({ price = type(r.price), ratio = type(r.ratio), active = r.active,
          meta = type(r.meta) == "table" and r.meta.k[2] or type(r.meta), at = r.at, sum = r.price + 1 }))
      end
      return { created = #rows, updated = 0, skipped = 0, errors = {} }
    end,
  })
end
function P.routes(r)
  r:get("/seen/{slug}", function(req) return 200, shared.get("seen:" .. req.params.slug) end)
end`

// Declared exchanger field types: CSV text arrives converted, JSON values
// checked the same way, and a value that does not convert is a row error
// naming the field.
func TestExchange_FieldTypes(t *testing.T) {
	pool, _ := newDB(t)
	root := writeRoot(t, files{"plugins/typed/init.lua": pluginSrc("typed", "", typedPlugin)})
	te := startEngine(t, root, func(o *Options) { o.DB = pool; o.AdminToken = adminToken })
	csv := "slug,price,ratio,active,meta,at\na,3,0.5,yes,\"{\"\"k\"\": [1, 7]}\",2026-11-26 13:34:56+01:00\n"
	if r := te.admin(t, "POST", "/admin/data-exchange/typed.rows/import?format=csv", csv); r.status != 200 {
		t.Fatalf("csv import: %d %s", r.status, r.body)
	}
	r := te.do(t, "GET", "/api/typed/seen/a", "")
	want := `{"active":true,"at":"2026-11-26T12:34:56Z","meta":7,"price":"number","ratio":"number","sum":4}`
	if r.body != want {
		t.Errorf("the plugin saw %s, want %s", r.body, want)
	}
	if r := te.admin(t, "POST", "/admin/data-exchange/typed.rows/import?format=json", `[{"slug": "j", "price": "12", "active": false, "meta": {"k": [0, 9]}}]`); r.status != 200 {
		t.Fatalf("json import: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/typed/seen/j", ""); !strings.Contains(r.body, `"sum":13`) || !strings.Contains(r.body, `"meta":9`) {
		t.Errorf("json import: %s", r.body)
	}
	bad := "slug,price,ratio,active,meta,at\nok,1,1,true,1,2026-01-01\nb,x,1,maybe,{,26.11.2026\n"
	r = te.admin(t, "POST", "/admin/data-exchange/typed.rows/import?format=csv", bad)
	if r.status != 422 || !strings.Contains(r.body, `"row":2`) {
		t.Fatalf("bad csv: %d %s", r.status, r.body)
	}
	for _, w := range []string{`active: \"maybe\" is not a boolean`, `at: \"26.11.2026\" is not a timestamp`, `meta: \"{\" is not JSON`, `price: \"x\" is not an integer`} {
		if !strings.Contains(r.body, w) {
			t.Errorf("row error lacks %s: %s", w, r.body)
		}
	}
	if r := te.admin(t, "POST", "/admin/data-exchange/typed.rows/import?format=json", `[{"slug": "f", "price": 1.5}]`); r.status != 422 || !strings.Contains(r.body, "price: 1.5 is not an integer") {
		t.Errorf("json import of 1.5: %d %s", r.status, r.body)
	}
}

func TestExchange_FieldTypesDeclarationErrors(t *testing.T) {
	for name, c := range map[string]struct{ types, want string }{
		"unknown type":  {`{ price = "money" }`, `field price: unknown field type "money"`},
		"unknown field": {`{ cost = "integer" }`, `types names "cost", which is not one of its fields`},
		"not a table":   {`"integer"`, "types must be a table"},
	} {
		t.Run(name, func(t *testing.T) {
			src := `function P.on_enable(ctx)
  ctx:exchanger({ key = "bad.rows", natural_key = "slug", fields = { "slug", "price" }, types = ` + c.types + `,
    export = function() return {} end, import = function() return {} end })
end`
			te := startEngine(t, writeRoot(t, files{"plugins/bad/init.lua": pluginSrc("bad", "", src)}), nil)
			st, _ := te.Plugin("bad")
			if st.State != StateFailed || !strings.Contains(st.Error, c.want) {
				t.Errorf("state %s, error %q; want %q", st.State, st.Error, c.want)
			}
		})
	}
}
