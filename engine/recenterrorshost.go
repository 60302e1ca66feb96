package engine

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// The last Lua errors of each plugin are kept in engine/admin
// (admin.RecentErrors); the engine notes them and serves them.

// noteCallError records a handler's failure when it is the plugin's own:
// a Lua error, its deadline, or the database it could not reach. Errors
// the plugin raised on purpose (error{status=...}), clients that went away
// and a busy pool are not.
func (e *Engine) noteCallError(g *Generation, rt Route, requestID string, r *http.Request, err error) {
	var se *StatusError
	if errors.As(err, &se) || r.Context().Err() != nil || errors.Is(err, ErrPoolExhausted) || errors.Is(err, ErrPoolClosed) ||
		errors.Is(err, context.Canceled) {
		return
	}
	kind := "error"
	switch {
	case errors.Is(err, ErrDatabaseUnavailable):
		kind = "database"
	case errors.Is(err, ErrTimeout):
		kind = "timeout"
	}
	rec := LuaErrorRecord{Time: e.clock(), RequestID: requestID, Route: rt.Method + " " + g.Manifest.URLPrefix + rt.Path,
		Generation: g.Number, Kind: kind, Message: err.Error()}
	var pe *PluginError
	if errors.As(err, &pe) {
		rec.File, rec.Line, rec.Message = pe.File, pe.Line, pe.Err.Error()
	}
	e.ops.recent.Add(g.Plugin, rec)
}

func (e *Engine) adminRecentErrors(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if _, ok := e.Plugin(name); !ok {
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no plugin "+name, nil)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"plugin": name, "errors": e.ops.recent.NewestFirst(name)})
}
