package registry

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
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

// CompileRouteSchemas loads and compiles the schemas of a generation's
// routes (plugin's, in directory dir), once per generation; an error names
// the r:get(...) line.
func CompileRouteSchemas(plugin, dir string, routes []Route) error {
	for i := range routes {
		rt := &routes[i]
		if opt, err := rt.CompileSchemas(dir); err != nil {
			return routeOptError(plugin, rt, opt, err)
		}
	}
	return nil
}

func routeOptError(plugin string, rt *Route, opt string, err error) error {
	file, line := rt.Where, 0
	if i := strings.LastIndexByte(rt.Where, ':'); i > 0 {
		if n, convErr := strconv.Atoi(rt.Where[i+1:]); convErr == nil {
			file, line = rt.Where[:i], n
		}
	}
	return &errs.PluginError{Plugin: plugin, File: file, Line: line, Op: "routes",
		Err: fmt.Errorf("%s %s option %s: %w", rt.Method, rt.Path, opt, err)}
}

// ValidRequest checks the request against the route's schemas and answers
// 422 when it fails; it reports whether the handler may run.
func ValidRequest(w *web.RespWriter, r *http.Request, rt Route, body []byte) bool {
	fields := rt.Validate(r, body)
	if len(fields) == 0 {
		return true
	}
	if len(fields) > reqschema.MaxFields {
		fields = fields[:reqschema.MaxFields]
	}
	web.WriteError(w, http.StatusUnprocessableEntity, "invalid request", map[string]any{"fields": fields})
	return false
}
