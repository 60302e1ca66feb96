// Package spec is what a plugin declares and what the operator configures:
// the manifest init.lua returns (read in a throwaway sandbox), the
// dependency graph and the order plugins start in, config schemas and their
// validation, and the root's plugins.json and config.json. It imports
// engine/luavm and engine/errs, never engine.
package spec

// EngineConfigKey is the root config.json entry of the engine itself:
// {"vbwd": {"roles": {"<role>": ["perm", "prefix.*", "*"]}}} replaces the
// grants the plugins declared for those roles.
const EngineConfigKey = "vbwd"
