package serve

import (
	"context"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/luareq"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// callCtx is the context of one route call: the request's context with the
// route's deadline (luavm.DeadlineCtx: no timer unless a host module waits on
// it) and the hostapi.Request host modules read, in one allocation where
// context.WithTimeout plus hostapi.WithRequest made seven.
type callCtx struct {
	luavm.DeadlineCtx
	req hostapi.Request
	rd  luareq.Data // the handler's req (luareq.Meta.NewIn)
}

var requestKey = hostapi.RequestKey()

func newCallCtx(parent context.Context, timeout time.Duration, id string, user *hostapi.User) *callCtx {
	c := &callCtx{req: hostapi.Request{ID: id, User: user}}
	c.Init(parent, timeout)
	return c
}

func (c *callCtx) Value(key any) any {
	if key == requestKey {
		return &c.req
	}
	return c.DeadlineCtx.Value(key)
}
