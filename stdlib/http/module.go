package http

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
)

const (
	defaultTimeout  = 30 * time.Second
	defaultMaxBytes = 8 << 20
	maxRedirects    = 10

	buildPhaseError = "vbwd.http: outbound requests are not allowed during initialize/routes/on_enable " +
		"(they run once per pooled state); make them from a route, an event handler or a job"
)

// Client is the outbound side shared by every plugin: one transport, so
// connections to a host are reused across calls and plugins.
type Client struct {
	transport http.RoundTripper
	guarded   bool // dials through the egress dialer (the address checks)
}

// NewClient returns a client whose transport resolves names with r (nil:
// the system resolver) and connects only to addresses the request's
// policy allows.
func NewClient(r Resolver) *Client {
	d := newDialer(r)
	t := &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// no Proxy: a proxy would connect on the plugin's behalf to
		// addresses the dialer never sees
	}
	return &Client{transport: t, guarded: true}
}

// NewClientWith returns a client sending through rt, for `vbwd test`
// stubs: the allow-list is still checked on every URL and redirect, but no
// address is dialed.
func NewClientWith(rt http.RoundTripper) *Client { return &Client{transport: rt} }

var shared = sync.OnceValue(func() *Client { return NewClient(nil) })

// Shared is the process-wide client.
func Shared() *Client { return shared() }

// Observer records one outbound call: the plugin, the host (a URL's host
// name, "-" when refused by the allow-list), the outcome ("2xx".."5xx",
// "refused" or "error") and its duration.
type Observer interface {
	ObserveHTTP(plugin, host, outcome string, d time.Duration)
}

// Options configures the module of one plugin generation.
type Options struct {
	Plugin   string
	Client   *Client  // nil: Shared()
	Observer Observer // nil: no metrics
	// MaxResponseBytes caps a response body. Default 8 MiB.
	MaxResponseBytes int64
	// Timeout bounds a call when the request's deadline is later. Default 30s.
	Timeout time.Duration
}

// Module is vbwd.http for one plugin generation.
type Module struct {
	opts   Options
	policy atomic.Pointer[Policy]
}

// New returns the module; it allows no host until Configure.
func New(o Options) *Module {
	if o.Client == nil {
		o.Client = Shared()
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = defaultMaxBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	return &Module{opts: o}
}

// Configure reads the allow-list from a plugin config: cfg.http.allow, a
// list of host patterns (see Policy). Absent means nothing is allowed.
func (m *Module) Configure(cfg map[string]any) error {
	var allow []string
	if h, ok := cfg["http"].(map[string]any); ok {
		switch v := h["allow"].(type) {
		case nil:
		case []any:
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					return errors.New("http.allow must be a list of host patterns (strings)")
				}
				allow = append(allow, s)
			}
		default:
			return errors.New("http.allow must be a list of host patterns (strings)")
		}
	}
	p, err := ParsePolicy(allow)
	if err != nil {
		return err
	}
	m.policy.Store(&p)
	return nil
}

// Name returns "http".
func (m *Module) Name() string { return "http" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	fns := map[string]lua.LGFunction{"request": m.request}
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		fns[strings.ToLower(method)] = func(L *lua.LState) int { return m.call(L, method, 1) }
	}
	L.Push(L.SetFuncs(L.CreateTable(0, len(fns)), fns))
	return 1
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "request", Sig: "request(method: string, url: string, opts?: table): table?, string?", Doc: "send a request to a host in the plugin's http.allow; opts {headers, query, json, body, timeout}; returns {status, headers, body, json} (json when the answer is JSON) or nil and an error"},
		{Name: "get", Sig: "get(url: string, opts?: table): table?, string?", Doc: "request with GET"},
		{Name: "post", Sig: "post(url: string, opts?: table): table?, string?", Doc: "request with POST"},
		{Name: "put", Sig: "put(url: string, opts?: table): table?, string?", Doc: "request with PUT"},
		{Name: "patch", Sig: "patch(url: string, opts?: table): table?, string?", Doc: "request with PATCH"},
		{Name: "delete", Sig: "delete(url: string, opts?: table): table?, string?", Doc: "request with DELETE"},
	}
}

func (m *Module) request(L *lua.LState) int {
	method := strings.ToUpper(L.CheckString(1))
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		L.ArgError(1, "method must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS")
	}
	return m.call(L, method, 2)
}

// call sends method to the URL at argument n with the options at n+1.
func (m *Module) call(L *lua.LState, method string, n int) int {
	if hostapi.InBuildPhase(L) {
		L.RaiseError(buildPhaseError)
	}
	u := checkURL(L, n)
	o := readOptions(L, n+1, u)
	policy := m.policy.Load()
	if policy == nil {
		policy = &Policy{}
	}
	start := time.Now()
	if err := m.allowed(*policy, u); err != nil {
		m.observe("-", "refused", start)
		return fail(L, err)
	}
	parent := L.Context()
	if parent == nil {
		parent = context.Background()
	}
	timeout := m.opts.Timeout
	if o.timeout > 0 && o.timeout < timeout {
		timeout = o.timeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	g := &grant{plugin: m.opts.Plugin, policy: *policy}
	ctx, reuseErr := m.traceReuse(withGrant(ctx, g))
	ctx, sp := m.startSpan(ctx, method, u) // trace.go; nil when untraced
	defer tracing.End(sp, nil)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), o.body())
	if err != nil {
		L.ArgError(n, err.Error())
	}
	req.Header = o.headers
	inject(ctx, sp, req)
	res, err := m.client(*policy).Do(req)
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) || *reuseErr != nil {
			if re == nil {
				re = *reuseErr
			}
			m.observe(u.Hostname(), "refused", start)
			return failSpan(L, sp, re)
		}
		m.observe(u.Hostname(), "error", start)
		return failSpan(L, sp, describe(err, parent, ctx))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, m.opts.MaxResponseBytes+1))
	if err == nil && int64(len(body)) > m.opts.MaxResponseBytes {
		err = fmt.Errorf("vbwd.http: the response body of %s exceeds %d bytes", u.Host, m.opts.MaxResponseBytes)
	} else if err != nil {
		err = describe(err, parent, ctx)
	}
	if err != nil {
		m.observe(u.Hostname(), "error", start)
		return failSpan(L, sp, err)
	}
	spanStatus(sp, res.StatusCode)
	m.observe(res.Request.URL.Hostname(), strconv.Itoa(res.StatusCode/100)+"xx", start)
	// the body becomes a Lua string: charged to the call's memory budget
	if l := L.G.Limits; l != nil && !l.ChargeBuilt(int64(len(body))) {
		L.RaiseError("%s", l.RefusedMessage())
	}
	L.Push(response(L, res, body))
	return 1
}

// allowed checks a URL's host against the policy, before any connection.
func (m *Module) allowed(p Policy, u *url.URL) error {
	if ok, _ := p.Match(u.Hostname(), port(u)); ok {
		return nil
	}
	reason := "not in the plugin's http.allow"
	if p.Empty() {
		reason = "the plugin's config has no http.allow (no host is allowed by default)"
	}
	return &RefusedError{Plugin: m.opts.Plugin, Host: u.Host, Reason: reason}
}

// client is a client over the shared transport that checks every redirect
// hop against p before following it.
func (m *Module) client(p Policy) *http.Client {
	return &http.Client{Transport: m.opts.Client.transport, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("vbwd.http: stopped after %d redirects", maxRedirects)
		}
		if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
			return fmt.Errorf("vbwd.http: redirect to a %s URL", r.URL.Scheme)
		}
		if err := m.allowed(p, r.URL); err != nil {
			err.(*RefusedError).Reason = "redirected there by " + via[len(via)-1].URL.Host + ", " + err.(*RefusedError).Reason
			return err
		}
		return nil
	}}
}

// traceReuse checks a connection taken from the shared pool: it was dialed
// for some request (maybe another plugin's, whose policy listed the host
// explicitly), so its address is checked again against this request's
// policy. A refused connection is closed before the request is written on
// it (the transport then dials anew, through the dialer's checks).
func (m *Module) traceReuse(ctx context.Context) (context.Context, **RefusedError) {
	refused := new(*RefusedError)
	if !m.opts.Client.guarded {
		return ctx, refused
	}
	g := ctx.Value(grantKey{}).(*grant)
	var hostPort string // of the hop asking for a connection
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(hp string) { hostPort = hp },
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				return
			}
			ap, err := netip.ParseAddrPort(info.Conn.RemoteAddr().String())
			if err != nil {
				return
			}
			host, port, _ := net.SplitHostPort(hostPort)
			if err := g.checkAddr(host, port, ap.Addr()); err != nil {
				*refused = err.(*RefusedError)
				info.Conn.Close()
			}
		},
	}), refused
}

func (m *Module) observe(host, outcome string, start time.Time) {
	if m.opts.Observer != nil {
		m.opts.Observer.ObserveHTTP(m.opts.Plugin, host, outcome, time.Since(start))
	}
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// describe names a timeout as such: the request's deadline or the call's.
func describe(err error, parent, ctx context.Context) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("vbwd.http: the request's deadline passed: %w", err)
	case ctx.Err() != nil:
		return fmt.Errorf("vbwd.http: timed out: %w", err)
	}
	return fmt.Errorf("vbwd.http: %w", err)
}

func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}

func checkURL(L *lua.LState, n int) *url.URL {
	u, err := url.Parse(L.CheckString(n))
	if err != nil {
		L.ArgError(n, "bad URL: "+err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		L.ArgError(n, "an http:// or https:// URL expected")
	}
	if u.Hostname() == "" {
		L.ArgError(n, "the URL has no host")
	}
	if u.User != nil {
		L.ArgError(n, "credentials in the URL; send an Authorization header instead")
	}
	return u
}

// response converts an answer to {status, headers, body, json}.
func response(L *lua.LState, res *http.Response, body []byte) *lua.LTable {
	t := L.CreateTable(0, 4)
	t.RawSetString("status", lua.LNumber(res.StatusCode))
	h := L.CreateTable(0, len(res.Header))
	for k, vs := range res.Header {
		h.RawSetString(strings.ToLower(k), lua.LString(strings.Join(vs, ", ")))
	}
	t.RawSetString("headers", h)
	t.RawSetString("body", lua.LString(body))
	if isJSON(res.Header.Get("Content-Type")) && len(body) > 0 {
		if v, err := luaconv.DecodeJSON(L, body); err == nil {
			t.RawSetString("json", v)
		}
	}
	return t
}

func isJSON(ctype string) bool {
	ctype = strings.ToLower(ctype)
	return strings.HasPrefix(ctype, "application/json") || strings.Contains(ctype, "+json")
}

// options are a call's opts table.
type options struct {
	headers http.Header
	payload []byte
	timeout time.Duration
}

func (o *options) body() io.Reader {
	if o.payload == nil {
		return nil
	}
	return bytes.NewReader(o.payload) // the payload is not kept elsewhere: no copy
}

func readOptions(L *lua.LState, n int, u *url.URL) options {
	o := options{headers: http.Header{"User-Agent": {"vbwd"}}}
	t, ok := L.Get(n).(*lua.LTable)
	if !ok {
		if L.Get(n) != lua.LNil {
			L.TypeError(n, lua.LTTable)
		}
		return o
	}
	if h, ok := t.RawGetString("headers").(*lua.LTable); ok {
		h.ForEach(func(k, v lua.LValue) { o.headers.Set(k.String(), v.String()) })
	}
	if q, ok := t.RawGetString("query").(*lua.LTable); ok {
		vals := u.Query()
		addQuery(L, n, vals, q)
		u.RawQuery = vals.Encode()
	}
	switch {
	case t.RawGetString("json") != lua.LNil:
		js, err := luaconv.AppendJSONSandboxed(L, t.RawGetString("json"))
		if err != nil {
			L.ArgError(n, "json: "+err.Error())
		}
		o.payload = js
		if o.headers.Get("Content-Type") == "" {
			o.headers.Set("Content-Type", "application/json")
		}
	case t.RawGetString("body") != lua.LNil:
		s, ok := t.RawGetString("body").(lua.LString)
		if !ok {
			L.ArgError(n, "body must be a string")
		}
		o.payload = []byte(s)
	}
	if v, ok := t.RawGetString("timeout").(lua.LNumber); ok && v > 0 {
		o.timeout = time.Duration(float64(v) * float64(time.Second))
	}
	return o
}

// addQuery adds a query table: string keys to scalars or lists of scalars.
func addQuery(L *lua.LState, n int, vals url.Values, q *lua.LTable) {
	var keys []string
	q.ForEach(func(k, _ lua.LValue) { keys = append(keys, k.String()) })
	sort.Strings(keys)
	for _, k := range keys {
		switch v := q.RawGetString(k).(type) {
		case lua.LString, lua.LNumber, lua.LBool:
			vals.Add(k, v.String())
		case *lua.LTable:
			for i := 1; i <= v.Len(); i++ {
				vals.Add(k, v.RawGetInt(i).String())
			}
		default:
			L.ArgError(n, "query."+k+" must be a string, number, boolean or list of them")
		}
	}
}

var _ hostapi.Documented = (*Module)(nil)
