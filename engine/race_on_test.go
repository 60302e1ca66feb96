//go:build race

package engine

// raceEnabled: the race detector slows everything several times; the time
// bounds the issue sets (50 ms for /readyz during a drain) are widened
// under it, since a call blocked by the drain would take the whole drain.
// The race detector's Its shadow memory counts in the
// process's RSS but not in the Go runtime's, so memory tests measure the
// runtime's figure (what the watchdog watches) instead.
const raceEnabled = true
