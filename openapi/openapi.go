// Package openapi builds an OpenAPI 3.1 document from a plain description
// of the routes an engine serves. It knows nothing of the engine: the caller
// lists the routes (method, chi path, owning plugin, permission or auth, and
// whatever schemas the plugin declared), and gets a JSON-ready document.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Route is one served route, as registered.
type Route struct {
	Method      string // GET, POST, PUT, PATCH, DELETE
	Path        string // full chi pattern: /notes/{id}, /files/*, /x/{id:[0-9]+}
	Plugin      string // owning plugin ("" for the engine's own routes)
	Permission  string // required permission, "" for none
	Auth        bool   // a signed-in user is required (any role)
	Admin       bool   // an admin API route: the admin token or a JWT granted Permission
	Stream      bool   // a server-sent event stream
	Summary     string
	Description string
	Body        any            // JSON Schema of the request body, nil when undeclared
	BodyTypes   []string       // media types of the body; default application/json
	Query       any            // JSON Schema of the query: an object whose properties are the parameters
	Response    any            // JSON Schema of the 200 response body, nil when undeclared
	ContentType string         // of the 200 response; default application/json (text/event-stream for streams)
	Errors      map[int]string // documented error statuses beyond the ones auth implies
}

// Info is the document's info object.
type Info struct {
	Title       string
	Version     string
	Description string
}

// Security scheme names in components.securitySchemes.
const (
	SchemeBearer = "bearer"     // a JWT signed with VBWD_JWT_SECRET
	SchemeAdmin  = "adminToken" // VBWD_ADMIN_TOKEN
)

// Document builds the OpenAPI 3.1 document for routes.
func Document(info Info, routes []Route) map[string]any {
	rs := append([]Route(nil), routes...)
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Path != rs[j].Path {
			return rs[i].Path < rs[j].Path
		}
		return methodRank(rs[i].Method) < methodRank(rs[j].Method)
	})
	paths := map[string]any{}
	tags := map[string]bool{}
	ids := map[string]int{}
	for _, r := range rs {
		tmpl, params := template(r.Path)
		item, _ := paths[tmpl].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[tmpl] = item
		}
		m := strings.ToLower(r.Method)
		if _, dup := item[m]; dup {
			continue // two patterns naming one template: the first one documents it
		}
		item[m] = operation(r, params, ids)
		tags[tag(r)] = true
	}
	tagList := make([]any, 0, len(tags))
	for _, t := range sortedKeys(tags) {
		tagList = append(tagList, map[string]any{"name": t})
	}
	if info.Title == "" {
		info.Title = "vbwd"
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	inf := map[string]any{"title": info.Title, "version": info.Version}
	if info.Description != "" {
		inf["description"] = info.Description
	}
	return map[string]any{
		"openapi":    "3.1.0",
		"info":       inf,
		"tags":       tagList,
		"paths":      paths,
		"components": components(),
	}
}

// JSON is Document encoded, indented.
func JSON(info Info, routes []Route) []byte {
	b, err := json.MarshalIndent(Document(info, routes), "", "  ")
	if err != nil {
		// every value is built here from strings, maps and the caller's
		// schemas, which came from JSON or Lua tables
		panic(fmt.Sprintf("openapi: %v", err))
	}
	return append(b, '\n')
}

func tag(r Route) string {
	if r.Plugin == "" {
		return "engine"
	}
	return r.Plugin
}

func methodRank(m string) int {
	for i, x := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if x == m {
			return i
		}
	}
	return 99
}

// param is a path parameter of a chi pattern.
type param struct {
	name    string
	pattern string // chi's regexp, "" for any segment
	rest    bool   // the trailing * wildcard
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// template turns a chi pattern into an OpenAPI path template: {id:[0-9]+}
// becomes {id} (the regexp goes to the parameter's schema) and a trailing
// * becomes {wildcard}.
func template(chiPath string) (string, []param) {
	var b strings.Builder
	var params []param
	for i := 0; i < len(chiPath); i++ {
		c := chiPath[i]
		switch {
		case c == '{':
			end := strings.IndexByte(chiPath[i:], '}')
			if end < 0 {
				b.WriteString(chiPath[i:])
				return b.String(), params
			}
			name, pat, _ := strings.Cut(chiPath[i+1:i+end], ":")
			params = append(params, param{name: name, pattern: pat})
			b.WriteString("{" + name + "}")
			i += end
		case c == '*' && i == len(chiPath)-1:
			params = append(params, param{name: "wildcard", rest: true})
			b.WriteString("{wildcard}")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), params
}

func operation(r Route, params []param, ids map[string]int) map[string]any {
	op := map[string]any{
		"tags":        []any{tag(r)},
		"operationId": operationID(r, ids),
	}
	if r.Summary != "" {
		op["summary"] = r.Summary
	}
	if r.Description != "" {
		op["description"] = r.Description
	}
	if r.Plugin != "" {
		op["x-vbwd-plugin"] = r.Plugin
	}
	if r.Permission != "" {
		op["x-vbwd-permission"] = r.Permission
	}
	var ps []any
	for _, p := range params {
		ps = append(ps, pathParam(p))
	}
	ps = append(ps, queryParams(r.Query)...)
	if len(ps) > 0 {
		op["parameters"] = ps
	}
	if present(r.Body) {
		types := r.BodyTypes
		if len(types) == 0 {
			types = []string{"application/json"}
		}
		content := map[string]any{}
		for _, t := range types {
			content[t] = map[string]any{"schema": r.Body}
		}
		op["requestBody"] = map[string]any{"required": true, "content": content}
	}
	op["responses"] = responses(r)
	if sec := security(r); sec != nil {
		op["security"] = sec
	}
	return op
}

func operationID(r Route, ids map[string]int) string {
	base := strings.Trim(nonIdent.ReplaceAllString(tag(r)+"_"+strings.ToLower(r.Method)+"_"+r.Path, "_"), "_")
	ids[base]++
	if n := ids[base]; n > 1 {
		return base + "_" + strconv.Itoa(n)
	}
	return base
}

func pathParam(p param) map[string]any {
	schema := map[string]any{"type": "string"}
	out := map[string]any{"name": p.name, "in": "path", "required": true, "schema": schema}
	switch {
	case p.rest:
		out["description"] = "the rest of the path (a chi * wildcard)"
	case p.pattern != "":
		schema["pattern"] = "^(?:" + p.pattern + ")$"
	}
	return out
}

// queryParams makes one query parameter per property of an object schema.
func queryParams(q any) []any {
	obj, _ := q.(map[string]any)
	props, _ := obj["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := obj["required"].([]any); ok {
		for _, n := range req {
			if s, ok := n.(string); ok {
				required[s] = true
			}
		}
	}
	var out []any
	for _, name := range sortedKeys(props) {
		p := map[string]any{"name": name, "in": "query", "schema": props[name]}
		if required[name] {
			p["required"] = true
		}
		if s, ok := props[name].(map[string]any); ok {
			if d, ok := s["description"].(string); ok {
				p["description"] = d
			}
		}
		out = append(out, p)
	}
	return out
}

func responses(r Route) map[string]any {
	ct := r.ContentType
	if ct == "" {
		ct = "application/json"
		if r.Stream {
			ct = "text/event-stream"
		}
	}
	schema := r.Response
	if !present(schema) {
		schema = map[string]any{}
		if r.Stream {
			schema = map[string]any{"type": "string", "description": "server-sent events"}
		}
	}
	out := map[string]any{
		"200":     map[string]any{"description": "OK", "content": map[string]any{ct: map[string]any{"schema": schema}}},
		"default": map[string]any{"$ref": "#/components/responses/Error"},
	}
	errs := map[int]string{}
	if r.Auth || r.Permission != "" || r.Admin {
		errs[http.StatusUnauthorized] = "no valid token"
	}
	if r.Permission != "" {
		errs[http.StatusForbidden] = "the caller lacks " + r.Permission
	}
	for code, d := range r.Errors {
		errs[code] = d
	}
	for code, d := range errs {
		out[strconv.Itoa(code)] = map[string]any{"description": d,
			"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	return out
}

// security: plugin routes needing a user take a JWT (the permission, when
// one is required, named as the requirement's role); admin routes take the
// admin token or a JWT granted the permission; public routes none.
func security(r Route) []any {
	roles := []any{}
	if r.Permission != "" {
		roles = []any{r.Permission}
	}
	switch {
	case r.Admin:
		return []any{map[string]any{SchemeAdmin: []any{}}, map[string]any{SchemeBearer: roles}}
	case r.Auth || r.Permission != "":
		return []any{map[string]any{SchemeBearer: roles}}
	}
	return []any{}
}

func components() map[string]any {
	errSchema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"error":      map[string]any{"type": "string"},
			"request_id": map[string]any{"type": "string"},
		},
		"required": []any{"error"},
	}
	return map[string]any{
		"schemas": map[string]any{"Error": errSchema},
		"responses": map[string]any{"Error": map[string]any{"description": "an error",
			"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}},
		"securitySchemes": map[string]any{
			SchemeBearer: map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "a JWT signed with VBWD_JWT_SECRET; a requirement's role is the permission the route needs"},
			SchemeAdmin: map[string]any{"type": "http", "scheme": "bearer",
				"description": "the admin token (VBWD_ADMIN_TOKEN): every admin permission"},
		},
	}
}

// present: a schema was given (a nil map in an interface is none).
func present(schema any) bool {
	if m, ok := schema.(map[string]any); ok {
		return m != nil
	}
	return schema != nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
