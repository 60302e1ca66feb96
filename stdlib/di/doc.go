// Package di is the vbwd.di host module: a plugin calls the services other
// plugins provide (ctx:provide in their on_enable) and those a Go program
// embedding the engine provides (engine.Provide).
//
//	-- provider: plugins/subscription/init.lua
//	function P.on_enable(ctx)
//	  ctx:provide("subscription.service", {
//	    is_active = function(user_id) return repo.active(user_id) end,
//	    plan = function(user_id) ... return nil, "no plan" end,
//	  })
//	end
//
//	-- caller: plugins/tarot/init.lua, dependencies = { "subscription" }
//	local di = require("vbwd.di")
//	r:get("/daily", function(req)
//	  local subs = assert(di.get("subscription.service"))
//	  if not subs.is_active(req.user.id) then error({ status = 402, message = "subscribe first" }) end
//	  local plan, err = subs:plan(req.user.id) -- the colon style works too
//	  ...
//	end)
//
// # Resolving
//
// di.get(name) returns a proxy, or nil and an error message. A plugin may
// resolve its own services and those of the plugins its manifest lists in
// dependencies; any other name answers nil and a message saying which
// dependency to add. An unknown name answers nil, "di.get(...): no service
// ...". Services provided by the embedding Go program are visible to every
// plugin. di.get raises during the build phase (module level, initialize,
// routes, on_enable): that code runs once per pooled state, and holding a
// proxy there would couple states; resolve in handlers (it is cheap) or
// lazily on first use.
//
// # Calling
//
// proxy.method(...) and proxy:method(...) are the same call: a proxy passed
// as the first argument is dropped. A provider's methods are the function
// fields of the table it provided, called as plain functions (no self).
//
// A call to a Lua service is routed by name at call time: it borrows a state
// of the provider's current generation (so reloading the provider keeps its
// callers working), copies the arguments into it and the results back as
// JSON-like data (tables are never shared between states: functions and
// other non-data values cannot cross and raise), and runs under the
// caller's context: its deadline, its request metadata (request id, user),
// and the chain of plugins in the call. Every result passes through,
// including nil, err pairs. A provider's error({status = ...}) is raised in
// the caller as the same kind of table, so an unhandled one answers that
// status; any other provider error raises in the caller with the provider's
// plugin and file:line. Calls nest at most MaxDepth deep, and a call that
// would re-enter a plugin already in the chain (a -> b -> a) raises
// "service call cycle: a -> b -> a" instead of waiting for a state its own
// caller holds. A plugin calling its own service directly (a -> a) borrows
// a second state of its pool and is allowed once.
//
// # Go services
//
// A Go service is a Go value whose exported methods become the proxy's
// methods, by their Go name and its snake_case form (IsActive, is_active).
// Only methods are visible, never fields. Arguments and results are
// converted by gopher-luar (layeh.com/gopher-luar), in the caller's state;
// a method whose first parameter is a context.Context receives the caller's
// context, and a trailing error result becomes Lua's nil, message
// convention. gopher-luar converts through reflection and is about 6x
// slower per call than a hand-written lua.LGFunction: it is meant for
// Go-provided services only, never for the engine's hot paths.
package di
