package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/openapi"
	"github.com/vbwd-platform/vbwd-engine/openapi/oascheck"
)

func sample() []openapi.Route {
	return []openapi.Route{
		{Method: "GET", Path: "/api/notes/{id}", Plugin: "notes", Auth: true, Summary: "one note",
			Response: map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "integer"}}}},
		{Method: "DELETE", Path: "/api/notes/{id}", Plugin: "notes", Permission: "notes.delete"},
		{Method: "POST", Path: "/api/notes/", Plugin: "notes", Auth: true,
			Body: map[string]any{"type": "object", "required": []any{"title"}, "properties": map[string]any{"title": map[string]any{"type": "string", "maxLength": 200}}}},
		{Method: "GET", Path: "/api/tarot/cards/{n:[0-9]+}", Plugin: "tarot"},
		{Method: "GET", Path: "/api/files/*", Plugin: "files",
			Query: map[string]any{"type": "object", "required": []any{"q"}, "properties": map[string]any{
				"q": map[string]any{"type": "string", "description": "search"}, "limit": map[string]any{"type": "integer", "minimum": 1}}}},
		{Method: "GET", Path: "/api/chat/stream", Plugin: "meinchat", Auth: true, Stream: true},
		// typed nil schemas (a route without body/query/response options) are none
		{Method: "PUT", Path: "/api/chat/{id}", Plugin: "meinchat", Body: map[string]any(nil), Query: map[string]any(nil), Response: map[string]any(nil)},
	}
}

func document(t *testing.T, routes []openapi.Route) ([]byte, map[string]any) {
	t.Helper()
	b := openapi.JSON(openapi.Info{Title: "test", Version: "1"}, routes)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return b, doc
}

func TestDocumentValidatesAgainstOAS31(t *testing.T) {
	b, _ := document(t, append(sample(), openapi.AdminRoutes()...))
	if err := oascheck.Validate(b); err != nil {
		t.Fatalf("the document does not validate: %v\n%s", err, b)
	}
}

// The validator must bite: documents breaking the 3.1 schema fail.
func TestValidatorRejectsBrokenDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"3.0 version":          `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}}`,
		"no info":              `{"openapi": "3.1.0", "paths": {}}`,
		"optional path param":  `{"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {"/a/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}}}}`,
		"path without a slash": `{"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {"a": {}}}`,
		"bad schema type":      `{"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {}, "components": {"schemas": {"x": {"type": 12}}}}`,
	} {
		if err := oascheck.Validate([]byte(doc)); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
}

func TestPathsParametersAndSecurity(t *testing.T) {
	_, doc := document(t, sample())
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/notes/{id}", "/api/notes/", "/api/tarot/cards/{n}", "/api/files/{wildcard}", "/api/chat/stream"} {
		if paths[p] == nil {
			t.Errorf("missing path %s in %v", p, keys(paths))
		}
	}
	get := paths["/api/notes/{id}"].(map[string]any)["get"].(map[string]any)
	if get["summary"] != "one note" || get["x-vbwd-plugin"] != "notes" {
		t.Errorf("get note: %v", get)
	}
	if sec, _ := json.Marshal(get["security"]); string(sec) != `[{"bearer":[]}]` {
		t.Errorf("auth route security %s", sec)
	}
	del := paths["/api/notes/{id}"].(map[string]any)["delete"].(map[string]any)
	if sec, _ := json.Marshal(del["security"]); string(sec) != `[{"bearer":["notes.delete"]}]` {
		t.Errorf("permission route security %s", sec)
	}
	if _, ok := del["responses"].(map[string]any)["403"]; !ok {
		t.Errorf("permission route without 403: %v", del["responses"])
	}
	card := paths["/api/tarot/cards/{n}"].(map[string]any)["get"].(map[string]any)
	p := card["parameters"].([]any)[0].(map[string]any)
	if p["in"] != "path" || p["required"] != true || p["schema"].(map[string]any)["pattern"] != "^(?:[0-9]+)$" {
		t.Errorf("regexp param %v", p)
	}
	if sec, _ := json.Marshal(card["security"]); string(sec) != `[]` {
		t.Errorf("public route security %s", sec)
	}
	files := paths["/api/files/{wildcard}"].(map[string]any)["get"].(map[string]any)
	ps, _ := json.Marshal(files["parameters"])
	for _, want := range []string{`"name":"wildcard"`, `"name":"q","required":true`, `"name":"limit"`} {
		if !strings.Contains(string(ps), want) {
			t.Errorf("files parameters lack %s: %s", want, ps)
		}
	}
	stream := paths["/api/chat/stream"].(map[string]any)["get"].(map[string]any)
	if _, ok := stream["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["text/event-stream"]; !ok {
		t.Errorf("stream response %v", stream["responses"])
	}
	put := paths["/api/chat/{id}"].(map[string]any)["put"].(map[string]any)
	if _, ok := put["requestBody"]; ok {
		t.Errorf("a nil body schema made a request body: %v", put["requestBody"])
	}
	post := paths["/api/notes/"].(map[string]any)["post"].(map[string]any)
	if b, _ := json.Marshal(post["requestBody"]); !strings.Contains(string(b), `"maxLength":200`) {
		t.Errorf("request body %s", b)
	}
}

func TestAdminRoutesDocumented(t *testing.T) {
	_, doc := document(t, openapi.AdminRoutes())
	paths := doc["paths"].(map[string]any)
	for _, want := range []string{"/admin/plugins", "/admin/plugins/{name}/reload", "/admin/plugins/{name}/config",
		"/admin/data-exchange", "/admin/data-exchange/{key}/export", "/admin/data-exchange/{key}/import", "/admin/routes",
		"/admin/plugins/{name}/errors", "/openapi.json", "/metrics"} {
		if paths[want] == nil {
			t.Errorf("%s is not documented", want)
		}
	}
	imp := paths["/admin/data-exchange/{key}/import"].(map[string]any)["post"].(map[string]any)
	if sec, _ := json.Marshal(imp["security"]); string(sec) != `[{"adminToken":[]},{"bearer":["admin.data.import"]}]` {
		t.Errorf("admin security %s", sec)
	}
}

func TestOperationIDsUnique(t *testing.T) {
	_, doc := document(t, append(sample(), append(openapi.AdminRoutes(),
		openapi.Route{Method: "GET", Path: "/api/notes/{id:x}", Plugin: "notes"}, // same template as /api/notes/{id}
		openapi.Route{Method: "GET", Path: "/api/notes/_id_", Plugin: "notes"})...))
	seen := map[string]bool{}
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			id := op.(map[string]any)["operationId"].(string)
			if seen[id] {
				t.Errorf("operationId %s twice", id)
			}
			seen[id] = true
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
