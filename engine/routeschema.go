package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/reqschema"
)

// Request schemas: the route options body = <schema> and query = <schema>,
// a JSON Schema written as a Lua table or the path of a file under the
// plugin's schemas/ directory. The engine validates the request before the
// handler runs and answers 422
//
//	{"error": "invalid request", "fields": [{"pointer": "/from", "message": "...", "in": "body"}], "request_id": ...}
//
// which is also the shape documented for a handler's own
// error({status = 422, message = "invalid request", fields = {...}}).
// Route.BodySchema and Route.QuerySchema keep the schema documents for
// readers such as an OpenAPI generator.

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

// compileRouteSchemas loads and compiles the schemas of g's routes, once per
// generation; an error names the r:get(...) line.
func (g *Generation) compileRouteSchemas() error {
	for i := range g.routes {
		rt := &g.routes[i]
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
				d, err := reqschema.LoadFile(g.src.Dir, opt.src.file)
				if err != nil {
					return routeOptError(g, rt, opt.name, err)
				}
				doc = d
			}
			s, err := reqschema.Compile(doc, g.src.Dir, rt.Method+" "+rt.Path+" "+opt.name)
			if err != nil {
				return routeOptError(g, rt, opt.name, err)
			}
			*opt.doc, *opt.out = doc, s
		}
	}
	return nil
}

func routeOptError(g *Generation, rt *Route, opt string, err error) error {
	file, line := rt.Where, 0
	if i := strings.LastIndexByte(rt.Where, ':'); i > 0 {
		if n, convErr := strconv.Atoi(rt.Where[i+1:]); convErr == nil {
			file, line = rt.Where[:i], n
		}
	}
	return &PluginError{Plugin: g.Plugin, File: file, Line: line, Op: "routes",
		Err: fmt.Errorf("%s %s option %s: %w", rt.Method, rt.Path, opt, err)}
}

// validRequest checks the request against the route's schemas and answers
// 422 when it fails; it reports whether the handler may run.
func validRequest(w *web.RespWriter, r *http.Request, rt Route, body []byte) bool {
	var fields []reqschema.Field
	if rt.querySchema != nil {
		fields = append(fields, rt.querySchema.ValidateQuery(r.URL.Query())...)
	}
	if rt.bodySchema != nil {
		fields = append(fields, rt.bodySchema.ValidateBody(body)...)
	}
	if len(fields) == 0 {
		return true
	}
	if len(fields) > reqschema.MaxFields {
		fields = fields[:reqschema.MaxFields]
	}
	web.WriteError(w, http.StatusUnprocessableEntity, "invalid request", map[string]any{"fields": fields})
	return false
}

// RouteSpecs returns the routes of plugin's serving generation — paths
// relative to the returned url_prefix — with their BodySchema and
// QuerySchema, for tools such as an OpenAPI generator. ok is false when the
// plugin is unknown or not serving.
func (e *Engine) RouteSpecs(plugin string) (prefix string, routes []Route, ok bool) {
	p, known := e.records()[plugin]
	if !known || p.gen == nil {
		return "", nil, false
	}
	return p.gen.Manifest.URLPrefix, append([]Route(nil), p.gen.routes...), true
}
