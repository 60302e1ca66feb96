package engine

import "github.com/vbwd-platform/vbwd-engine/engine/gen"

// Names of the engine's API that live in engine/gen.

type (
	// Generation is one loaded version of a plugin (gen.Generation).
	Generation = gen.Generation
	// State is one Lua state of a generation's pool (gen.State).
	State = gen.State
	// Pool is the pool of a generation's states.
	Pool      = gen.Pool
	PoolStats = gen.PoolStats
)

// PopulateTimeout bounds one plugin's populate.lua.
const PopulateTimeout = gen.PopulateTimeout
