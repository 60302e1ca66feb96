// Package luavm is the Lua VM layer of the engine: a plugin's source read
// and compiled once (Source), sandboxed states (NewSandbox), their memory
// accounting and the process watchdog, and the bounded pool of states a
// generation runs its calls on (Pool). It knows nothing of the Engine.
package luavm
