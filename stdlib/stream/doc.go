// Package stream is the vbwd.stream host module: publish server-sent events
// to the subscribers of a plugin's channels. Subscribers are HTTP clients of
// a route registered with {stream = true}; the engine holds their
// connections without holding a Lua state.
package stream
