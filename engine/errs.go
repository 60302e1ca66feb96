package engine

import "github.com/vbwd-platform/vbwd-engine/engine/errs"

// The error model lives in engine/errs, below every engine package; these
// names keep it part of the engine's API and of its own code.

var (
	ErrUnknownPlugin       = errs.ErrUnknownPlugin
	ErrNotEnabled          = errs.ErrNotEnabled
	ErrHasDependents       = errs.ErrHasDependents
	ErrPoolExhausted       = errs.ErrPoolExhausted
	ErrPoolClosed          = errs.ErrPoolClosed
	ErrTimeout             = errs.ErrTimeout
	ErrCanceled            = errs.ErrCanceled
	ErrRegMismatch         = errs.ErrRegMismatch
	ErrEngineStopped       = errs.ErrEngineStopped
	ErrAlreadyEnabled      = errs.ErrAlreadyEnabled
	ErrRetired             = errs.ErrRetired
	ErrDatabaseUnavailable = errs.ErrDatabaseUnavailable
)

type (
	PluginError     = errs.PluginError
	DependentsError = errs.DependentsError
	StatusError     = errs.StatusError
)

func normalizeLuaError(plugin, op string, err error) error {
	return errs.NormalizeLuaError(plugin, op, err)
}

func parseErrorToPlugin(plugin, file string, err error) *PluginError {
	return errs.ParseErrorToPlugin(plugin, file, err)
}
