// Package engine runs vbwd plugins: it discovers plugins/<name>/init.lua,
// reads each manifest, orders enabled plugins by their dependencies, builds
// one generation per loaded plugin — a pool of sandboxed Lua states built
// from shared compiled protos — and serves the routes they register through
// an immutable chi router swapped atomically whenever the set of enabled
// generations changes.
//
// The engine is embeddable: a Go program builds it with New, calls Start,
// serves Handler, and calls Shutdown. Only the engine drives the lifecycle
// discovered → initialized → enabled → disabled (or failed).
package engine
