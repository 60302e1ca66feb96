package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/openapi/oascheck"
)

// vbwd openapi prints the document of the shipped hello plugin without
// serving: valid OpenAPI 3.1, with hello's routes and the admin API.
func TestOpenAPICommand(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	root := copyHello(t, nil)
	out, err := runCLI(t, t.Context(), "openapi", "--root", root)
	if err != nil {
		t.Fatalf("vbwd openapi: %v\n%s", err, out)
	}
	if err := oascheck.Validate([]byte(out)); err != nil {
		t.Fatalf("the printed document does not validate: %v", err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for path, method := range map[string]string{"/api/v1/hello/{name}": "get", "/api/v1/hello/echo": "post", "/admin/plugins/{name}/reload": "post"} {
		if doc.Paths[path][method] == nil {
			t.Errorf("%s %s missing from:\n%s", strings.ToUpper(method), path, out)
		}
	}
}
