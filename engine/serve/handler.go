package serve

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/luareq"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
)

// routeServer serves one route of a generation. It is built once, when the
// generation's routes are compiled, with everything a request needs that
// does not change per request (timeout, body limit, metrics series, span
// name), so a request pays no lookup for them.
type routeServer struct {
	s       *Server
	g       *gen.Generation
	idx     int
	rt      registry.Route
	timeout time.Duration
	limit   int64
	rm      *web.RouteMetrics
	pattern string // url_prefix + path: the span's route
}

func (s *Server) newRouteServer(g *gen.Generation, idx int) *routeServer {
	rt := g.RouteList[idx]
	rs := &routeServer{s: s, g: g, idx: idx, rt: rt, timeout: s.cfg.RequestTimeout, limit: s.cfg.MaxBodyBytes,
		rm:      s.cfg.Metrics.Route(g.Plugin, rt.Method+" "+g.Manifest.URLPrefix+rt.Path, g.Number),
		pattern: g.Manifest.URLPrefix + rt.Path}
	if rt.Timeout > 0 {
		rs.timeout = rt.Timeout
	}
	if rt.BodyLimit > 0 {
		rs.limit = rt.BodyLimit
	}
	return rs
}

// ServeHTTP is the route's handler in the generation's chi router (the
// path through the snapshot's router, see the engine's dispatch).
func (rs *routeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs.serve(w, r, chi.RouteContext(r.Context()))
}

// serve serves one request; params holds its path parameters.
func (rs *routeServer) serve(w http.ResponseWriter, r *http.Request, params *chi.Context) {
	s, g, rt := rs.s, rs.g, &rs.rt
	if !g.Enter() {
		s.cfg.Host.Redispatch(w, r)
		return
	}
	inflight := true
	defer func() {
		if inflight {
			g.Leave()
		}
	}()
	rw := web.AsRespWriter(w)
	rw.Plugin, rw.Gen = g.Plugin, g.Number
	defer func() {
		rw.End = time.Now() // the access log's end too (the engine's router.go)
		rs.rm.Observe(rw.Status, rw.End.Sub(rw.Start))
	}()
	var user *hostapi.User
	var ok bool
	if rt.Stream {
		user, ok = s.cfg.Host.AuthorizeStream(rw, r, rt.Permission, rt.Auth) // also takes ?ticket= (engine/streamauth)
	} else {
		user, ok = s.Authorize(rw, r, rt.Permission, rt.Auth)
	}
	if !ok || (rt.Rate != nil && !s.id.AllowRate(rw, r, s.cfg.Log, g.Plugin, rt, user)) {
		return
	}
	body, ok := web.ReadBody(rw, r, rs.limit)
	if !ok || !registry.ValidRequest(rw, r, *rt, body) {
		return
	}
	cc := newCallCtx(r.Context(), rs.timeout, rw.RequestID, user) // callctx.go
	defer cc.Cancel()
	ctx, sp := web.StartCall(cc, g.Plugin, g.Number, rt.Method, rs.pattern) // web/tracing.go; nil when untraced
	defer tracing.End(sp, nil)
	resp := web.GetResult()
	defer web.PutResult(resp)
	err := g.Pool.Run(ctx, func(st *gen.State) error {
		return ServeOn(ctx, st, rs.idx, r, params, body, rw.RequestID, user, resp, &cc.rd)
	})
	if err != nil {
		tracing.Fail(sp, err)
		s.writeCallError(rw, r, g, *rt, err)
		return
	}
	if rt.Stream {
		cc.Cancel() // the handler's deadline does not bound the stream
		inflight = false
		g.Leave() // a stream holds no state: it is tracked apart, and closed when g retires
		s.serveStream(rw, r, g, resp.Stream, resp.Events)
		return
	}
	web.WriteResult(rw, resp)
}

// authorize reads the caller from "Authorization: Bearer <JWT>" and checks
// the route's permission: a bad token answers 401, a missing one 401 when
// the route needs a permission or a signed-in user (auth), a user without
// the permission 403. Another scheme (Basic, for a proxy in front) and any
// Bearer while no JWT secret is set are not the engine's: the caller is
// anonymous.
func (s *Server) Authorize(w *web.RespWriter, r *http.Request, perm string, needUser bool) (*hostapi.User, bool) {
	var user *hostapi.User
	if h := r.Header.Get("Authorization"); s.id.JWT.Enabled() && strings.HasPrefix(h, "Bearer ") {
		u, err := s.id.JWT.FromHeader(h)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			web.WriteError(w, http.StatusUnauthorized, err.Error(), nil)
			return nil, false
		}
		user = &hostapi.User{ID: u.ID, Roles: u.Roles, Claims: u.Claims}
	}
	if user == nil && (needUser || perm != "") {
		w.Header().Set("WWW-Authenticate", `Bearer`)
		var extra map[string]any
		if perm != "" {
			extra = map[string]any{"required": perm}
		}
		web.WriteError(w, http.StatusUnauthorized, "authentication required", extra)
		return nil, false
	}
	if perm == "" {
		return user, true
	}
	if !s.cfg.Host.Check(user, perm) {
		web.WriteError(w, http.StatusForbidden, "Permission denied", map[string]any{"required": perm})
		return nil, false
	}
	return user, true
}

// ServeOn calls handler idx with a req table and encodes what it returns.
// The req is made in rd when given (zero, used once), else allocated.
func ServeOn(ctx context.Context, s *gen.State, idx int, r *http.Request, params *chi.Context, body []byte, requestID string, user *hostapi.User, resp *web.Result, rd *luareq.Data) error {
	L := s.L
	if rd == nil {
		rd = new(luareq.Data)
	}
	req := s.Req.NewIn(rd, L, r, params, body, requestID, user)
	defer rd.Finish()
	L.Push(s.Handlers[idx])
	L.Push(req)
	if err := L.PCall(1, 3, nil); err != nil {
		return luavm.WithCtxErr(ctx, errs.NormalizeLuaError(s.Gen.Plugin, "handler", err))
	}
	status, bodyV, headers := L.Get(-3), L.Get(-2), L.Get(-1)
	L.Pop(3)
	if s.Gen.RouteList[idx].Stream {
		var err error
		resp.Stream, resp.Events, err = streamResult(s.Gen.Plugin, status)
		return err
	}
	return web.EncodeResult(status, bodyV, headers, resp, s.Gen.Limits.MaxResponseBytes, s.Interrupted())
}

// writeCallError maps an error from running a handler to a response.
func (s *Server) writeCallError(w *web.RespWriter, r *http.Request, g *gen.Generation, rt registry.Route, err error) {
	s.cfg.Host.NoteCallError(g, rt, w.RequestID, r, err)
	var se *errs.StatusError
	switch {
	case errors.As(err, &se):
		msg := se.Message
		if msg == "" {
			msg = http.StatusText(se.Status)
		}
		web.WriteError(w, se.Status, msg, se.Extra)
	case r.Context().Err() != nil:
		w.Status = 499 // client closed the request: nothing to answer, not a Lua error
		g.Logger.Debug("client went away", "route", rt.Method+" "+rt.Path, "request_id", w.RequestID)
	case errors.Is(err, errs.ErrPoolExhausted), errors.Is(err, errs.ErrPoolClosed):
		web.WriteError(w, http.StatusServiceUnavailable, "plugin is busy: no Lua state free before the deadline", nil)
	case errors.Is(err, errs.ErrDatabaseUnavailable):
		// an outage, not a bug: clients may retry; details go to the log
		attrs := []any{"route", rt.Method + " " + rt.Path, "request_id", w.RequestID, "err", err.Error()}
		var pe *errs.PluginError
		if errors.As(err, &pe) {
			attrs = append(attrs, "src", pe.Location())
		}
		g.Logger.Warn("handler failed: the database is unavailable", attrs...)
		s.cfg.Metrics.LuaErrors.WithLabelValues(g.Plugin, "database").Inc()
		w.Header().Set("Retry-After", retryAfterOutage)
		web.WriteError(w, http.StatusServiceUnavailable, "database unavailable, retry later", nil)
	case errors.Is(err, errs.ErrTimeout):
		s.cfg.Metrics.LuaErrors.WithLabelValues(g.Plugin, "timeout").Inc()
		g.Logger.Warn("handler exceeded its deadline", "route", rt.Method+" "+rt.Path, "request_id", w.RequestID)
		web.WriteError(w, http.StatusGatewayTimeout, "handler exceeded its deadline", nil)
	default:
		attrs := []any{"route", rt.Method + " " + rt.Path, "request_id", w.RequestID, "err", err.Error()}
		var pe *errs.PluginError
		if errors.As(err, &pe) {
			attrs = append(attrs, "src", pe.Location(), "traceback", pe.Traceback)
		}
		g.Logger.Error("handler failed", attrs...)
		s.cfg.Metrics.LuaErrors.WithLabelValues(g.Plugin, "error").Inc()
		web.WriteError(w, http.StatusInternalServerError, "internal", nil)
	}
}

// retryAfterOutage is the Retry-After (seconds) of a 503 for a database
// outage: about what a supervised embedded PostgreSQL needs to come back.
const retryAfterOutage = "5"
