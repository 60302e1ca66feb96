package engine

import (
	"context"
	"net/http"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/pkgapply"
)

// Plugins as packages across a cluster live in engine/pkgapply; it reaches
// the engine through pkgapplyHost.

// packageState is the engine's side of cluster package installs.
type packageState = pkgapply.State

func (e *Engine) pkgApplier() pkgapply.Applier {
	return pkgapply.New(pkgapplyHost{e}, pkgapply.Config{DB: e.opts.DB, Root: e.opts.Root,
		Packages: e.opts.Packages, Log: e.log}, &e.packages)
}

// adminPackages is POST /admin/packages/{action}.
func (e *Engine) adminPackages(w http.ResponseWriter, r *http.Request) {
	e.pkgApplier().ServeAdmin(w, r)
}

// applyPackages applies a "packages" change on this node.
func (e *Engine) applyPackages(ctx context.Context, raw []byte) (RescanResult, error) {
	return e.pkgApplier().Apply(ctx, raw)
}

// healPackages restores the package-managed plugins whose files on this
// node differ from the cluster's lock, then rescans.
func (e *Engine) healPackages(ctx context.Context) { e.pkgApplier().Heal(ctx) }

// healNote says, for GET /admin/plugins/{name} showing a hash mismatch,
// whether and how it heals.
func (e *Engine) healNote(ctx context.Context, name string) string {
	return e.pkgApplier().HealNote(ctx, name)
}

// pkgapplyHost is the engine as engine/pkgapply sees it (pkgapply.Host).
type pkgapplyHost struct{ e *Engine }

func (h pkgapplyHost) ApplyAdmin(ctx context.Context, action, plugin string, payload any) (any, error) {
	return h.e.applyAdmin(ctx, action, plugin, payload)
}

func (h pkgapplyHost) ClusterOn() bool { return h.e.cluster.On() }

func (h pkgapplyHost) Closing() bool { return h.e.closing.Load() }

func (h pkgapplyHost) WithApplyLock(fn func()) { h.e.cluster.WithApplyLock(fn) }

func (h pkgapplyHost) ReportNodes(ctx context.Context) { h.e.cluster.ReportNodes(ctx) }

func (h pkgapplyHost) Rescan(ctx context.Context) (admin.RescanResult, error) { return h.e.Rescan(ctx) }

func (h pkgapplyHost) Plugin(name string) (admin.PluginStatus, bool) { return h.e.Plugin(name) }

func (h pkgapplyHost) SetEnabled(ctx context.Context, name string, enabled, cascade bool) error {
	return h.e.SetEnabled(ctx, name, enabled, cascade)
}
