// Package stubgen generates, from the host modules' Docs, the LuaLS stubs in
// stdlib/types/ (one ---@meta file per module, so that editors complete
// require("vbwd.<name>")) and the reference docs/host-modules.md.
//
// Both come from hostapi.Export entries: the Sig of each export becomes
// ---@param/---@return annotations (or a ---@field for a value), its Doc the
// description. TestStubsUpToDate compares the committed files with the
// generated ones; after changing a module's exports run
//
//	go test ./internal/stubgen -update
//
// The stubs of the plugin table, the router, ctx and req are hand-written
// (stdlib/types/vbwd.plugin.lua, ...): they describe engine objects, not
// host modules, and carry no "Code generated" header.
package stubgen
