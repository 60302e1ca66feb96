// Package luaconv converts between Lua values (gopher-lua) and JSON or plain
// Go data. It is on the engine's hot path: every table a handler returns is
// encoded with AppendJSON straight from the Lua table, without an intermediate
// Go map and without reflection.
//
// The data model is JSON's:
//
//   - nil and the Null sentinel are null; booleans, numbers and strings map to
//     themselves.
//   - A table whose keys are exactly 1..n (n > 0) is an array, and so is a
//     table marked with MarkArray (so that an empty array stays []).
//     Array indices in error paths are Lua's, starting at 1.
//   - Any other table is an object whose keys are strings or numbers (numbers
//     are written in their JSON form); objects are written with sorted keys so
//     the output is deterministic. An empty unmarked table is {}.
//   - Functions, userdata other than Null, threads and channels are not data:
//     converting them is an error naming the path of the value, e.g.
//     "cannot encode function at $.user.cb". Cycles and nesting deeper than
//     MaxDepth are errors too.
//
// DecodeJSON and FromGo mark every array they build, so values round-trip:
// an empty JSON array decodes to a marked table and encodes back to [].
package luaconv
