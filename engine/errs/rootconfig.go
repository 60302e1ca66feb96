package errs

// RootConfigError refuses a lifecycle change because the root config.json,
// read once per reconcile, does not parse (being edited, say): nothing
// changed, the running snapshot keeps serving.
type RootConfigError struct{ Err error }

func (e *RootConfigError) Error() string {
	return "the root config.json does not parse; nothing changed: " + e.Err.Error()
}

func (e *RootConfigError) Unwrap() error { return e.Err }
