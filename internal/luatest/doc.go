// Package luatest runs Lua test files against host modules, so that
// Lua-facing behaviour is tested from Lua.
//
// A test file, testdata/<name>_test.lua, declares tests with test(name, fn)
// and checks with the assertion globals:
//
//	local json = require("vbwd.json")
//
//	test("encode sorts keys", function()
//	  eq(json.encode({b = 1, a = 2}), '{"a":2,"b":1}')
//	end)
//
//	test("decode refuses trailing data", function()
//	  local v, e = json.decode("{} x")
//	  eq(v, nil)
//	  ok(e:find("offset 3"), "error names the offset")
//	end)
//
// The globals are:
//
//	test(name, fn)             declare a test; run later as a Go subtest
//	eq(actual, expected, msg?) deep equality (tables by content, metatables ignored)
//	ok(v, msg?)                v is neither nil nor false
//	err(fn, pattern?, msg?)    fn raises an error whose message contains pattern
//	                           (as plain text or as a Lua pattern); returns the message
//	build_phase(fn)            run fn as during on_enable (hostapi.InBuildPhase is true)
//	with_request(id, fn)       run fn as serving a request with that id (hostapi.RequestOf)
//	with_timeout(seconds, fn)  run fn under a context with that deadline (L.Context());
//	                           once it passes, the next Lua instruction raises
//	                           "context deadline exceeded"
//	print(...)                 log to the running Go test
//
// Each file runs in a fresh state opened like the engine's sandbox (base,
// table, string, math; no file or environment access) with a require that
// resolves "vbwd.<name>" to the modules given to Run. Failures are reported
// with the Lua file:line and a traceback.
package luatest
