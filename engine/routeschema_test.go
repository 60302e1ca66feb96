package engine

import (
	"strings"
	"testing"
)

const bookingSrc = `
local BOOKING = {
  type = "object", required = { "from", "nights" },
  properties = { from = { type = "string", format = "date" }, nights = { type = "integer", minimum = 1 } },
}
function P.routes(r)
  r:post("/bookings", { body = BOOKING }, function(req) return 201, { ok = req:json().nights } end)
  r:get("/rooms", { query = "schemas/q.json" }, function(req) return 200, { limit = req.query.limit } end)
  r:post("/cancel", function() error({ status = 422, message = "invalid request", fields = { { pointer = "/reason", message = "is required" } } }) end)
end`

// A body failing a route schema answers 422 with a JSON pointer per
// problem, before the handler runs; the query string is checked with the
// types its schema declares; a handler's own 422 has the same shape.
func TestRouteSchemas(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/bk/init.lua":       pluginSrc("bk", "", bookingSrc),
		"plugins/bk/schemas/q.json": `{"type": "object", "properties": {"limit": {"type": "integer", "maximum": 50}}}`,
	})
	te := startEngine(t, root, nil)
	if r := te.do(t, "POST", "/api/bk/bookings", `{"from": "2026-12-24", "nights": 2}`); r.status != 201 {
		t.Fatalf("valid body: %d %s", r.status, r.body)
	}
	r := te.do(t, "POST", "/api/bk/bookings", `{"from": "24.12.2026", "nights": 0}`)
	if r.status != 422 || r.json["error"] != "invalid request" {
		t.Fatalf("invalid body: %d %s", r.status, r.body)
	}
	fields, _ := r.json["fields"].([]any)
	var ptrs []string
	for _, f := range fields {
		m := f.(map[string]any)
		ptrs = append(ptrs, m["pointer"].(string))
		if m["message"] == "" || m["in"] != "body" {
			t.Errorf("field %v", m)
		}
	}
	if strings.Join(ptrs, " ") != "/from /nights" || r.json["request_id"] == nil {
		t.Errorf("422 body: %s", r.body)
	}
	if r := te.do(t, "POST", "/api/bk/bookings", `{"from": "2026-12-24"}`); !strings.Contains(r.body, `{"pointer":"/nights","message":"is required","in":"body"}`) {
		t.Errorf("missing property: %s", r.body)
	}
	if r := te.do(t, "GET", "/api/bk/rooms?limit=20", ""); r.status != 200 {
		t.Errorf("valid query: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/bk/rooms?limit=99", ""); r.status != 422 || !strings.Contains(r.body, `"pointer":"/limit"`) || !strings.Contains(r.body, `"in":"query"`) {
		t.Errorf("invalid query: %d %s", r.status, r.body)
	}
	if r := te.do(t, "POST", "/api/bk/cancel", `{}`); r.status != 422 || !strings.Contains(r.body, `"fields":[{"message":"is required","pointer":"/reason"}]`) || r.json["error"] != "invalid request" {
		t.Errorf("a handler's 422: %d %s", r.status, r.body)
	}
	// the schemas are kept on the registration, for an OpenAPI generator
	prefix, routes, ok := te.RouteSpecs("bk")
	if !ok || prefix != "/api/bk" || len(routes) != 3 {
		t.Fatalf("RouteSpecs: %q %v %v", prefix, routes, ok)
	}
	if req, _ := routes[0].BodySchema["required"].([]any); len(req) != 2 || routes[0].QuerySchema != nil {
		t.Errorf("BodySchema: %#v", routes[0].BodySchema)
	}
	if props, _ := routes[1].QuerySchema["properties"].(map[string]any); props["limit"] == nil {
		t.Errorf("QuerySchema from the file: %#v", routes[1].QuerySchema)
	}
}

// A bad schema fails the plugin at load, naming the file and line of the
// route and the problem.
func TestRouteSchemas_Errors(t *testing.T) {
	for name, c := range map[string]struct{ route, file, want string }{
		"bad schema":    {`r:post("/x", { body = { type = "nonsense" } }, function() end)`, "", "plugins/bad/init.lua:3: routes: POST /x option body: bad schema"},
		"missing file":  {`r:post("/x", { body = "schemas/none.json" }, function() end)`, "", "option body: schema file schemas/none.json: no such file"},
		"outside":       {`r:post("/x", { body = "../secret.json" }, function() end)`, "", "under the plugin's schemas/ directory"},
		"not a table":   {`r:get("/x", { query = 3 }, function() end)`, "", "option query must be a JSON Schema"},
		"ref elsewhere": {`r:post("/x", { body = "schemas/s.json" }, function() end)`, `{"$ref": "../../other/x.json"}`, "only files of the plugin's schemas/ directory"},
	} {
		t.Run(name, func(t *testing.T) {
			fs := files{"plugins/bad/init.lua": pluginSrc("bad", "", "function P.routes(r)\n  "+c.route+"\nend")}
			if c.file != "" {
				fs["plugins/bad/schemas/s.json"] = c.file
			}
			te := startEngine(t, writeRoot(t, fs), nil)
			st, _ := te.Plugin("bad")
			if st.State != StateFailed || !strings.Contains(st.Error, c.want) {
				t.Errorf("state %s, error %q; want %q", st.State, st.Error, c.want)
			}
		})
	}
}
