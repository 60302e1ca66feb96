package engine

import (
	"net/http"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/apidoc"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// The admin API (/admin) lives in engine/admin; it reaches the engine
// through the admin.Host adminRouter fills. The status types it serves are
// the engine's API too.

type (
	PluginStatus    = admin.PluginStatus
	LifecycleState  = admin.LifecycleState
	NodeStatus      = admin.NodeStatus
	ReloadResult    = admin.ReloadResult
	ParkedEvent     = admin.ParkedEvent
	LuaErrorRecord  = admin.LuaErrorRecord
	RootConfigError = errs.RootConfigError
)

// The lifecycle: discovered → initialized → enabled → disabled, or failed
// (with the error kept) from any step.
const (
	StateDiscovered  = admin.StateDiscovered
	StateInitialized = admin.StateInitialized
	StateEnabled     = admin.StateEnabled
	StateDisabled    = admin.StateDisabled
	StateFailed      = admin.StateFailed
)

// The engine's own permissions (see engine/admin).
const (
	PermPluginsRead   = admin.PermPluginsRead
	PermPluginsManage = admin.PermPluginsManage
	PermConfig        = admin.PermConfig
	PermDataExport    = admin.PermDataExport
	PermDataImport    = admin.PermDataImport
	PermEvents        = admin.PermEvents
	AdminPermission   = admin.AdminPermission
)

const adminOffMessage = admin.OffMessage

// adminRouter builds /admin over the engine as engine/admin sees it
// (admin.Host).
func (e *Engine) adminRouter() http.Handler {
	host := admin.Host{Plugins: e.Plugins, Plugin: e.Plugin, Nodes: e.cluster.Nodes, ApplyAdmin: e.cluster.ApplyAdmin,
		Config: e.Config, Readiness: e.readiness, Check: e.Check, Exchangers: e.exchangers, Exchanger: e.exchangerOf,
		AnyAdminGrant: func() bool { return e.index.Load().AdminGrants.Any() },
		AllowsAdmin:   func(u *hostapi.User, perm string) bool { return e.index.Load().AdminGrants.AllowsAdmin(u, perm) },
		RouteCatalog:  func(w http.ResponseWriter, r *http.Request) { apidoc.ServeCatalog(apidocHost{e}, w) },
		Packages:      e.pkg.ServeAdmin, Recent: &e.ops.recent, HealNote: e.pkg.HealNote}
	return admin.New(host, admin.Options{AdminToken: e.opts.AdminToken, NodeID: e.opts.NodeID,
		Root: e.opts.Root, MaxBodyBytes: e.opts.MaxBodyBytes, DB: e.opts.DB}, e.jwt, e.log)
}

// exchangers lists the serving exchangers, by key.
func (e *Engine) exchangers() []ExchangerSpec {
	ix := e.index.Load()
	out := make([]ExchangerSpec, 0, len(ix.Exchangers))
	for _, ref := range ix.Exchangers {
		out = append(out, ref.Gen.Exchangers[ref.Name()])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// exchangerOf resolves the serving exchanger key.
func (e *Engine) exchangerOf(key string) (admin.Exchanger, bool) {
	ref, ok := e.index.Load().Exchangers[key]
	if !ok {
		return nil, false
	}
	return e.exchanger(ref), true
}
