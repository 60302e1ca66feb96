package engine

import (
	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/pkgapply"
)

// Names of the engine's API that moved to sub-packages with the split of
// packages, watching, the API document, stream tickets, identity, egress
// and route schemas (issue 11).

// RescanResult says what a rescan changed (see engine/admin).
type RescanResult = admin.RescanResult

// Plugins as packages across a cluster (see engine/pkgapply).
type (
	PackagePlanner = pkgapply.PackagePlanner
	PackageRequest = pkgapply.PackageRequest
	PackageArchive = pkgapply.PackageArchive
	PackagePlan    = pkgapply.PackagePlan
)
