package engine

import "github.com/vbwd-platform/vbwd-engine/engine/bus"

// Names of the engine's API that live in engine/bus.

// EventSeen is an event as it is emitted or published (Options.EventHook).
type EventSeen = bus.EventSeen
