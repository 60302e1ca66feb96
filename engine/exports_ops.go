package engine

import (
	"github.com/vbwd-platform/vbwd-engine/engine/admin"
)

// Names of the engine's API that moved to sub-packages with the split of
// packages, watching, the API document, stream tickets, identity, egress
// and route schemas (issue 11).

// RescanResult says what a rescan changed (see engine/admin).
type RescanResult = admin.RescanResult
