package admin

import (
	"sync"
	"time"
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
