// Package cluster coordinates the engines sharing one PostgreSQL: the
// admin change log every node applies in one order, and the report of
// what each node runs (see cluster.go). It reaches the engine through Host
// and never imports it.
package cluster

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
)

// Host is what the cluster needs of the engine: functions the engine
// fills once, at New.
type Host struct {
	// ApplyChange applies one admin change on this node and returns its
	// result (a ReloadResult, a RescanResult, or nil).
	ApplyChange func(ctx context.Context, action, plugin string, payload []byte) (any, error)
	// Plugins is what this node runs, for its report in vbwd.nodes.
	Plugins func() []admin.PluginStatus
	// Closing: the engine is shutting down (its node rows are deleted, not
	// refreshed).
	Closing func() bool
	// RunListener runs l until the engine shuts down.
	RunListener func(l pgcoord.Listener)
	// HealPackages restores package-managed plugins whose files differ from
	// the stored archives (on connect and at every heartbeat).
	HealPackages func(ctx context.Context)
}

// Config is what the cluster reads of the engine's options.
type Config struct {
	DB     *pgxpool.Pool // nil: a single node, changes apply at once
	NodeID string
	Root   string // the last applied change is recorded under it
}

// Cluster is one node's side of the coordination.
type Cluster struct {
	Host
	opts      Config
	log       *slog.Logger
	clusterWG sync.WaitGroup // the listener (its heartbeat writes vbwd.nodes)
	clusterOn atomic.Bool    // admin changes go through the change log
	applyMu   sync.Mutex     // serialises applying the change log; taken before the engine's lock
	applied   int64          // id of the last change of the log applied here (applyMu)
}

// New makes a node's cluster side; Start turns the change log on.
func New(h Host, opts Config, log *slog.Logger) *Cluster {
	return &Cluster{Host: h, opts: opts, log: log}
}

// Wait waits for the listener, which stops when the engine's quit closes.
func (e *Cluster) Wait() { e.clusterWG.Wait() }

// Forget deletes this node's report, after Wait; an admin change being
// applied reports this node when it is done: it finds the engine closing
// and does not, after this.
func (e *Cluster) Forget(ctx context.Context) {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	_, _ = e.opts.DB.Exec(ctx, "delete from vbwd.nodes where node = $1", e.opts.NodeID)
}

// Nodes returns what every node that reported in the last minute runs for
// a plugin.
func (e *Cluster) Nodes(ctx context.Context, plugin string) ([]admin.NodeStatus, error) {
	return e.nodes(ctx, plugin)
}

// On: admin changes go through the change log (the cluster started on a
// database).
func (e *Cluster) On() bool { return e.clusterOn.Load() }

// WithApplyLock runs fn holding the lock that serialises applying the change
// log, so fn never runs beside a change being applied.
func (e *Cluster) WithApplyLock(fn func()) {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	fn()
}

// ReportNodes refreshes this node's report in vbwd.nodes.
func (e *Cluster) ReportNodes(ctx context.Context) { e.reportNodes(ctx) }
