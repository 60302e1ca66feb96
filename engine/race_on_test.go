//go:build race

package engine

// raceEnabled: the race detector is on. Its shadow memory counts in the
// process's RSS but not in the Go runtime's, so memory tests measure the
// runtime's figure (what the watchdog watches) instead.
const raceEnabled = true
