package pkgs

// SetCommitHook makes every commit call f after renaming the plugins into
// place; the returned func removes it.
func SetCommitHook(f func() error) func() {
	commitHook = f
	return func() { commitHook = nil }
}
