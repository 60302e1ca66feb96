package engine

import (
	"context"
	"net/http"
	"sort"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// The admin API (/admin) lives in engine/admin; it reaches the engine
// through adminHost. The status types it serves are the engine's API too.

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

func (e *Engine) adminRouter() http.Handler {
	return admin.New(adminHost{e}, admin.Options{AdminToken: e.opts.AdminToken, NodeID: e.opts.NodeID,
		Root: e.opts.Root, MaxBodyBytes: e.opts.MaxBodyBytes, DB: e.opts.DB}, e.jwt, e.log)
}

// adminHost is the engine as engine/admin sees it (admin.Host).
type adminHost struct{ *Engine }

func (h adminHost) Nodes(ctx context.Context, plugin string) ([]NodeStatus, error) {
	return h.nodes(ctx, plugin)
}

func (h adminHost) ApplyAdmin(ctx context.Context, action, plugin string, payload any) (any, error) {
	return h.applyAdmin(ctx, action, plugin, payload)
}

func (h adminHost) Readiness(ctx context.Context) (bool, []string, error) { return h.readiness(ctx) }

func (h adminHost) AnyAdminGrant() bool { return h.index.Load().AdminGrants.Any() }

func (h adminHost) AllowsAdmin(u *hostapi.User, perm string) bool {
	return h.index.Load().AdminGrants.AllowsAdmin(u, perm)
}

func (h adminHost) Exchangers() []ExchangerSpec {
	ix := h.index.Load()
	out := make([]ExchangerSpec, 0, len(ix.Exchangers))
	for _, ref := range ix.Exchangers {
		out = append(out, ref.Gen.Exchangers[ref.Name()])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (h adminHost) Exchanger(key string) (admin.Exchanger, bool) {
	ref, ok := h.index.Load().Exchangers[key]
	if !ok {
		return nil, false
	}
	return h.exchanger(ref), true
}

func (h adminHost) RouteCatalog(w http.ResponseWriter, r *http.Request) { h.adminRouteCatalog(w, r) }

func (h adminHost) RecentErrors(w http.ResponseWriter, r *http.Request) { h.adminRecentErrors(w, r) }

func (h adminHost) Packages(w http.ResponseWriter, r *http.Request) { h.adminPackages(w, r) }

func (h adminHost) HealNote(ctx context.Context, name string) string { return h.healNote(ctx, name) }
