package engine

import (
	"github.com/vbwd-platform/vbwd-engine/engine/pkgapply"
)

// Plugins as packages across a cluster live in engine/pkgapply; it reaches
// the engine through the pkgapply.Host setupPackages fills.

// packageState is the engine's side of cluster package installs.
type packageState = pkgapply.State

// setupPackages builds the package installs, which go through the
// cluster's change log (after setupCluster).
func (e *Engine) setupPackages() {
	e.pkg = pkgapply.New(pkgapply.Host{ApplyAdmin: e.cluster.ApplyAdmin, ClusterOn: e.cluster.On,
		Closing: e.closing.Load, WithApplyLock: e.cluster.WithApplyLock, ReportNodes: e.cluster.ReportNodes,
		Rescan: e.Rescan, Plugin: e.Plugin, SetEnabled: e.SetEnabled},
		pkgapply.Config{DB: e.opts.DB, Root: e.opts.Root, Packages: e.opts.Packages, Log: e.log}, &e.packages)
}
