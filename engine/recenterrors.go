package engine

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// recentErrorsKept is how many Lua errors the engine keeps per plugin for
// GET /admin/plugins/{name}/errors (the log keeps them all).
const recentErrorsKept = 50

// LuaErrorRecord is one failed handler call.
type LuaErrorRecord struct {
	Time       time.Time `json:"time"`
	RequestID  string    `json:"request_id"`
	Route      string    `json:"route"`
	Generation int64     `json:"generation"`
	Kind       string    `json:"kind"` // error (500), timeout (504), database (503)
	File       string    `json:"file,omitempty"`
	Line       int       `json:"line,omitempty"`
	Message    string    `json:"message"`
}

// recentErrors keeps the last Lua errors of each plugin, newest last.
type recentErrors struct {
	mu sync.Mutex
	by map[string][]LuaErrorRecord
}

func (re *recentErrors) add(plugin string, rec LuaErrorRecord) {
	re.mu.Lock()
	defer re.mu.Unlock()
	if re.by == nil {
		re.by = map[string][]LuaErrorRecord{}
	}
	l := append(re.by[plugin], rec)
	if len(l) > recentErrorsKept {
		l = append(l[:0:0], l[len(l)-recentErrorsKept:]...)
	}
	re.by[plugin] = l
}

// newestFirst returns a copy of a plugin's records, newest first.
func (re *recentErrors) newestFirst(plugin string) []LuaErrorRecord {
	re.mu.Lock()
	defer re.mu.Unlock()
	l := re.by[plugin]
	out := make([]LuaErrorRecord, len(l))
	for i, r := range l {
		out[len(l)-1-i] = r
	}
	return out
}

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
	e.ops.recent.add(g.Plugin, rec)
}

func (e *Engine) adminRecentErrors(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if _, ok := e.Plugin(name); !ok {
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no plugin "+name, nil)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"plugin": name, "errors": e.ops.recent.newestFirst(name)})
}
