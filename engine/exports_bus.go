package engine

import (
	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/bus"
)

// Names of the engine's API that live in engine/bus.

// EventSeen is an event as it is emitted or published (Options.EventHook).
type EventSeen = bus.EventSeen

// Data exchangers: the plugin side is engine/bus's, the HTTP side
// (/admin/data-exchange) engine/admin's.
type (
	ExchangerSpec = admin.ExchangerSpec
	ImportResult  = admin.ImportResult
	RowError      = admin.RowError
)
