package hostapi

// Export documents one name of a host module's table, for the host-module
// reference and the LuaLS stubs in stdlib/types/, which are generated from
// the exports and these entries.
//
// Sig is one line in LuaLS notation: for a function its name, parameters and
// results as in a LuaLS fun() type, optional parameters marked with ?, e.g.
//
//	encode(v: any): string?, string?
//	random_token(nbytes?: integer): string
//
// and for a value that is not a function its name and type, e.g.
//
//	null: userdata
//
// By convention a function that can fail at run time returns its result or
// nil, followed by an error message (string?).
type Export struct {
	Name string // Lua name as in the module table, snake_case
	Sig  string // one-line signature, see above
	Doc  string // one-line description, lower-case start, no final period
}

// Documented is an optional capability of a Module: the documentation of
// every name in its module table, in a stable order.
type Documented interface {
	Module
	Docs() []Export
}
