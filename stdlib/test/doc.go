// Package test is the vbwd.test host module, offered only inside `vbwd
// test`: test declarations, assertions with per-path diffs, an in-process
// HTTP client that can act as any user, demo data, clock control and event
// capture. The runner lives in internal/testrunner.
package test
