package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/reqschema"
)

// The route options body = <schema> and query = <schema> as registered;
// the engine validates requests with them (requestcheck.go).

// routeSchema is one body or query option as written: a document or a file.
type routeSchema struct {
	doc  map[string]any
	file string // "schemas/x.json", resolved when the generation is built
}

// parseSchemaOption reads the value of option name (body or query).
func parseSchemaOption(name string, v lua.LValue) (*routeSchema, error) {
	switch x := v.(type) {
	case lua.LString:
		if !strings.HasPrefix(string(x), reqschema.SchemasDir+"/") {
			return nil, fmt.Errorf("option %s: a schema file must be under the plugin's %s/ directory, e.g. %q", name, reqschema.SchemasDir, reqschema.SchemasDir+"/booking.json")
		}
		return &routeSchema{file: string(x)}, nil
	case *lua.LTable:
		g, err := luaconv.ToGo(x)
		if err != nil {
			return nil, fmt.Errorf("option %s: %v", name, err)
		}
		doc, ok := g.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("option %s must be a JSON Schema object (a table with keys such as type and properties), or a file under %s/", name, reqschema.SchemasDir)
		}
		return &routeSchema{doc: doc}, nil
	}
	return nil, fmt.Errorf("option %s must be a JSON Schema (a table) or the path of a file under %s/, got %s", name, reqschema.SchemasDir, v.Type())
}

// detail is the canonical form of the option for Registration.Detail: two
// states registering different schemas differ.
func (s *routeSchema) detail() string {
	if s.file != "" {
		return s.file
	}
	b, _ := json.Marshal(s.doc) // sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// CompileSchemas loads (from the plugin directory dir) and compiles the
// route's body and query schemas; an error names the option.
func (rt *Route) CompileSchemas(dir string) (option string, err error) {
	for _, opt := range []struct {
		name string
		src  *routeSchema
		doc  *map[string]any
		out  **reqschema.Schema
	}{
		{"body", rt.body, &rt.BodySchema, &rt.bodySchema},
		{"query", rt.query, &rt.QuerySchema, &rt.querySchema},
	} {
		if opt.src == nil {
			continue
		}
		doc := opt.src.doc
		if opt.src.file != "" {
			d, err := reqschema.LoadFile(dir, opt.src.file)
			if err != nil {
				return opt.name, err
			}
			doc = d
		}
		s, err := reqschema.Compile(doc, dir, rt.Method+" "+rt.Path+" "+opt.name)
		if err != nil {
			return opt.name, err
		}
		*opt.doc, *opt.out = doc, s
	}
	return "", nil
}

// Validate checks a request against the route's compiled schemas.
func (rt Route) Validate(r *http.Request, body []byte) []reqschema.Field {
	var fields []reqschema.Field
	if rt.querySchema != nil {
		fields = append(fields, rt.querySchema.ValidateQuery(r.URL.Query())...)
	}
	if rt.bodySchema != nil {
		fields = append(fields, rt.bodySchema.ValidateBody(body)...)
	}
	return fields
}
