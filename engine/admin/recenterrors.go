package admin

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
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

// RecentErrors keeps the last Lua errors of each plugin, newest last (the
// engine adds them; GET /admin/plugins/{name}/errors lists them).
type RecentErrors struct {
	mu sync.Mutex
	by map[string][]LuaErrorRecord
}

// Add keeps rec, dropping the plugin's oldest past recentErrorsKept.
func (re *RecentErrors) Add(plugin string, rec LuaErrorRecord) {
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

// NewestFirst returns a copy of a plugin's records, newest first.
func (re *RecentErrors) NewestFirst(plugin string) []LuaErrorRecord {
	re.mu.Lock()
	defer re.mu.Unlock()
	l := re.by[plugin]
	out := make([]LuaErrorRecord, len(l))
	for i, r := range l {
		out[len(l)-1-i] = r
	}
	return out
}

// CallError is a route handler's failure, as the engine saw it.
type CallError struct {
	Plugin     string
	Generation int64
	// Method, URLPrefix and Path name the route (joined only when kept).
	Method, URLPrefix, Path string
	RequestID               string
	ClientGone              bool // the request's context was done
	Err                     error
}

// NoteCallError records a handler's failure when it is the plugin's own:
// a Lua error, its deadline, or the database it could not reach. Errors
// the plugin raised on purpose (error{status=...}), clients that went away
// and a busy pool are not. now is read only for a failure kept.
func (re *RecentErrors) NoteCallError(c CallError, now func() time.Time) {
	var se *errs.StatusError
	err := c.Err
	if errors.As(err, &se) || c.ClientGone || errors.Is(err, errs.ErrPoolExhausted) || errors.Is(err, errs.ErrPoolClosed) ||
		errors.Is(err, context.Canceled) {
		return
	}
	kind := "error"
	switch {
	case errors.Is(err, errs.ErrDatabaseUnavailable):
		kind = "database"
	case errors.Is(err, errs.ErrTimeout):
		kind = "timeout"
	}
	rec := LuaErrorRecord{Time: now(), RequestID: c.RequestID, Route: c.Method + " " + c.URLPrefix + c.Path,
		Generation: c.Generation, Kind: kind, Message: err.Error()}
	var pe *errs.PluginError
	if errors.As(err, &pe) {
		rec.File, rec.Line, rec.Message = pe.File, pe.Line, pe.Err.Error()
	}
	re.Add(c.Plugin, rec)
}

// recentErrors is GET /admin/plugins/{name}/errors.
func (e *API) recentErrors(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if _, ok := e.Plugin(name); !ok {
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no plugin "+name, nil)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"plugin": name, "errors": e.Recent.NewestFirst(name)})
}
