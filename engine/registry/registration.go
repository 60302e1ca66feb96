package registry

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/internal/reqschema"

	lua "github.com/yuin/gopher-lua"
)

// Registration is one thing a plugin registered while its state was built:
// a route from routes(r), or (in later kinds) a permission, event handler,
// service or exchanger from on_enable(ctx). Registrations are recorded per
// generation; every pooled state must register the same list.
type Registration struct {
	Kind   string // "route", ...
	Name   string // "GET /cards/{id}", ...
	Detail string // canonical options, compared between states
}

func (r Registration) String() string {
	if r.Detail == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Name + " " + r.Detail
}

// Route is a route registered by routes(r), relative to the url_prefix.
type Route struct {
	Method     string
	Path       string
	Permission string        // required permission, "" for none
	Timeout    time.Duration // 0: the engine's request timeout
	BodyLimit  int64         // 0: the engine's body limit
	Stream     bool          // a server-sent event stream: the handler returns {channel, events}
	Auth       bool          // a signed-in user is required (401 without one), any role
	Rate       *RouteRate    // calls per window and whom they count (routerate.go); nil: none
	Where      string        // file:line of the r:get(...) call, for errors
	Summary    string        // summary = "...": the route's line in /openapi.json
	Response   any           // response = {JSON Schema}: the 200 body in /openapi.json
	// BodySchema and QuerySchema are the JSON Schemas of the route options
	// body and query as declared (a file under schemas/ read), nil when the
	// route has none; the engine validates requests against them before
	// the handler runs (requestcheck.go). Readers must not modify them.
	BodySchema  map[string]any
	QuerySchema map[string]any

	body, query             *routeSchema      // the options as written
	bodySchema, querySchema *reqschema.Schema // compiled once per generation
}

func (rt Route) registration() Registration {
	var opts []string
	if rt.Permission != "" {
		opts = append(opts, "permission="+rt.Permission)
	}
	if rt.Timeout > 0 {
		opts = append(opts, "timeout="+rt.Timeout.String())
	}
	if rt.BodyLimit > 0 {
		opts = append(opts, fmt.Sprintf("body_limit=%d", rt.BodyLimit))
	}
	if rt.Stream {
		opts = append(opts, "stream")
	}
	if rt.Auth {
		opts = append(opts, "auth")
	}
	if rt.body != nil {
		opts = append(opts, "body="+rt.body.detail())
	}
	if rt.query != nil {
		opts = append(opts, "query="+rt.query.detail())
	}
	if rt.Rate != nil {
		opts = append(opts, "rate="+rt.Rate.String())
	}
	return Registration{Kind: "route", Name: rt.Method + " " + rt.Path, Detail: strings.Join(opts, ",")}
}

// Recorder collects the registrations of one state while it is built.
type Recorder struct {
	Regs     []Registration
	Values   []lua.LValue // per registration: the route handler, event handler, service table...
	Routes   []Route
	Handlers []*lua.LFunction
	seen     map[string]bool
	// RoutesDone and EnableDone are set when routes(r) and on_enable(ctx)
	// returned: an r or ctx a plugin kept refuses registrations after.
	RoutesDone, EnableDone bool
}

// Add records reg, refusing a second registration of the same kind and name.
func (rc *Recorder) Add(reg Registration) error {
	key := reg.Kind + " " + reg.Name
	if rc.seen == nil {
		rc.seen = map[string]bool{}
	}
	if rc.seen[key] {
		return fmt.Errorf("%s is registered twice", key)
	}
	rc.seen[key] = true
	rc.Regs = append(rc.Regs, reg)
	return nil
}

// checkChiPattern mounts the path on a throwaway chi router, which panics
// on patterns it cannot route ({a}/{a}, /*/x, {id:[}): the author gets the
// error at the r:get call, with its line, rather than when the
// generation's router is compiled (serve.CompileRoutes guards that too).
func checkChiPattern(method, p string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("route path %q: %v", p, r)
		}
	}()
	chi.NewRouter().Method(method, "/x"+p, http.NotFoundHandler())
	return nil
}

// RouteMethods are the methods routes(r) registers (r:get ... r:delete).
var RouteMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// RouterTable builds the `r` object passed to routes(r): r:get/post/put/
// patch/delete(path, [opts], handler). r.get(...) works too.
func (rc *Recorder) RouterTable(L *lua.LState) *lua.LTable {
	r := L.NewTable()
	for _, m := range RouteMethods {
		r.RawSetString(strings.ToLower(m), L.NewFunction(rc.routeFn(r, m)))
	}
	return r
}

func (rc *Recorder) routeFn(self *lua.LTable, method string) lua.LGFunction {
	return func(L *lua.LState) int {
		base := 1
		if L.Get(1) == self {
			base = 2
		}
		if rc.RoutesDone {
			L.RaiseError("r:%s: routes can only be registered while routes(r) runs", strings.ToLower(method))
		}
		p := L.CheckString(base)
		var opts *lua.LTable
		fnArg := base + 1
		if t, ok := L.Get(base + 1).(*lua.LTable); ok {
			opts, fnArg = t, base+2
		}
		fn := L.CheckFunction(fnArg)
		rt := Route{Method: method, Path: p, Where: strings.TrimSuffix(L.Where(1), ":")}
		if err := checkRoutePath(p); err != nil {
			L.ArgError(base, err.Error())
		}
		if err := checkChiPattern(method, p); err != nil {
			L.ArgError(base, err.Error())
		}
		if opts != nil {
			if err := parseRouteOpts(opts, &rt); err != nil {
				L.ArgError(base+1, err.Error())
			}
		}
		if err := rc.Add(rt.registration()); err != nil {
			L.RaiseError("%s", err.Error())
		}
		rc.Values = append(rc.Values, fn)
		rc.Routes = append(rc.Routes, rt)
		rc.Handlers = append(rc.Handlers, fn)
		return 0
	}
}

func checkRoutePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("route path %q must start with /", p)
	}
	depth := 0
	for _, c := range p {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		}
		if depth < 0 || depth > 1 {
			return fmt.Errorf("route path %q has unbalanced {}", p)
		}
	}
	if depth != 0 {
		return fmt.Errorf("route path %q has unbalanced {}", p)
	}
	if web.HasDotSegment(p) {
		return fmt.Errorf("route path %q has a . or .. segment", p)
	}
	return nil
}

func parseRouteOpts(t *lua.LTable, rt *Route) error {
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		switch k.String() {
		case "permission":
			s, ok := v.(lua.LString)
			if !ok || s == "" {
				err = fmt.Errorf("option permission must be a non-empty string")
			}
			rt.Permission = string(s)
		case "timeout":
			n, ok := v.(lua.LNumber)
			if !ok || n <= 0 || n > 3600 {
				err = fmt.Errorf("option timeout must be a number of seconds in (0, 3600]")
			}
			rt.Timeout = time.Duration(float64(n) * float64(time.Second))
		case "body_limit":
			n, ok := v.(lua.LNumber)
			if !ok || n < 1 {
				err = fmt.Errorf("option body_limit must be a positive number of bytes")
			}
			rt.BodyLimit = int64(n)
		case "stream":
			rt.Stream = lua.LVAsBool(v)
		case "auth":
			rt.Auth = lua.LVAsBool(v)
		case "body":
			rt.body, err = parseSchemaOption("body", v)
		case "query":
			rt.query, err = parseSchemaOption("query", v)
		case "rate":
			rt.Rate, err = parseRateOpt(v)
		default:
			if doc, derr := parseDocOption(k.String(), v, rt); doc {
				err = derr
				return
			}
			err = fmt.Errorf("unknown route option %q (known: permission, auth, timeout, body_limit, stream, body, query, rate, summary, response)", k.String())
		}
	})
	return err
}

// SameRegistrations compares a state's registrations to the canonical list
// and describes the first difference.
func SameRegistrations(canon, got []Registration) error {
	for i := 0; i < len(canon) || i < len(got); i++ {
		switch {
		case i >= len(got):
			return fmt.Errorf("it did not register %s", canon[i])
		case i >= len(canon):
			return fmt.Errorf("it registered %s, which the first state did not", got[i])
		case canon[i] != got[i]:
			return fmt.Errorf("it registered %s where the first state registered %s", got[i], canon[i])
		}
	}
	return nil
}

// RouteNames lists routes as "GET /prefix/path", sorted.
func RouteNames(prefix string, routes []Route) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.Method + " " + prefix + r.Path
	}
	sort.Strings(out)
	return out
}
