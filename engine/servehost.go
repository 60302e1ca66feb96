package engine

import (
	"net/http"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/serve"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// The plugin routes' request surface (route servers, a route call, the
// serving side of event streams) lives in engine/serve; it reaches the
// engine through serveHost and the serve.Config built once by setupServe.

// setupServe builds the route surface (after setupIdentity: it takes the
// verifier, the trusted proxies and the rate limiter).
func (e *Engine) setupServe() {
	e.serve = serve.New(serve.Config{Host: &serveHost{e}, JWT: e.jwt, Proxies: e.proxies, Rate: e.rate,
		Log: e.log, Metrics: e.metrics, Broker: e.broker, StreamsDone: e.relay.Done(),
		RequestTimeout: e.opts.RequestTimeout, MaxBodyBytes: e.opts.MaxBodyBytes, NotFound: e.notFound})
}

// serveHost is the engine as engine/serve sees it (serve.Host). It is a
// pointer, so a call per request boxes nothing.
type serveHost struct{ e *Engine }

func (h *serveHost) Redispatch(w http.ResponseWriter, r *http.Request) { h.e.redispatch(w, r) }

func (h *serveHost) Check(u *hostapi.User, perm string) bool { return h.e.Check(u, perm) }

func (h *serveHost) AuthorizeStream(w *web.RespWriter, r *http.Request, perm string, needUser bool) (*hostapi.User, bool) {
	return h.e.streams.Authorize(w, r, perm, needUser)
}

func (h *serveHost) NoteCallError(g *Generation, rt Route, requestID string, r *http.Request, err error) {
	h.e.ops.recent.NoteCallError(admin.CallError{Plugin: g.Plugin, Generation: g.Number, Method: rt.Method,
		URLPrefix: g.Manifest.URLPrefix, Path: rt.Path, RequestID: requestID, ClientGone: r.Context().Err() != nil, Err: err}, h.e.clock)
}
