package admin

import (
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
)

// What the engine tells about its plugins and nodes: the engine returns
// these types (it aliases them) and the admin API serves them.

// LifecycleState is where a plugin is in its lifecycle.
type LifecycleState string

// The lifecycle: discovered → initialized → enabled → disabled, or failed
// (with the error kept) from any step.
const (
	StateDiscovered  LifecycleState = "discovered"  // found and manifest read, not enabled
	StateInitialized LifecycleState = "initialized" // generation built, not yet mounted
	StateEnabled     LifecycleState = "enabled"     // serving
	StateDisabled    LifecycleState = "disabled"    // disabled at runtime or in plugins.json
	StateFailed      LifecycleState = "failed"      // see the kept error
)

// PluginStatus is what the engine tells about one plugin.
type PluginStatus struct {
	Name        string         `json:"name"`
	Version     string         `json:"version,omitempty"`
	Description string         `json:"description,omitempty"`
	State       LifecycleState `json:"state"`
	Error       string         `json:"error,omitempty"` // of the last attempt (start, reload, enable)
	// Outdated: the last attempt failed and the generation serving is
	// older than the plugin's files (a broken reload left it serving).
	Outdated     bool             `json:"outdated,omitempty"`
	ErrorFile    string           `json:"error_file,omitempty"`
	ErrorLine    int              `json:"error_line,omitempty"`
	Dependencies []string         `json:"dependencies"`
	Dependents   []string         `json:"dependents"`
	URLPrefix    string           `json:"url_prefix,omitempty"`
	Generation   int64            `json:"generation,omitempty"`
	Hash         string           `json:"hash,omitempty"`
	Routes       []string         `json:"routes,omitempty"`
	Permissions  []string         `json:"permissions,omitempty"`
	Events       []string         `json:"events,omitempty"`   // events it handles
	Services     []string         `json:"services,omitempty"` // services it provides
	Exchangers   []string         `json:"exchangers,omitempty"`
	Jobs         []string         `json:"jobs,omitempty"` // scheduled with ctx:every
	Pool         *luavm.PoolStats `json:"pool,omitempty"`
	LoadedAt     time.Time        `json:"loaded_at,omitzero"`
}

// NodeStatus is what one node reports running for a plugin.
type NodeStatus struct {
	Node       string    `json:"node"`
	State      string    `json:"state"`
	Generation int64     `json:"generation"`
	Hash       string    `json:"hash"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ReloadResult says what a reload did.
type ReloadResult struct {
	Plugin     string `json:"plugin"`
	Unchanged  bool   `json:"unchanged"`
	Generation int64  `json:"generation"`
	Hash       string `json:"hash"`
}
