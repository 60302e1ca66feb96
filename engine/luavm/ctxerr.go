package luavm

import (
	"context"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
)

// WithCtxErr reports a Lua failure caused by ctx's deadline or cancellation
// as ErrTimeout or ErrCanceled: the VM raises those as ordinary errors.
func WithCtxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return errs.ErrTimeout
	case context.Canceled:
		return errs.ErrCanceled
	}
	return err
}
