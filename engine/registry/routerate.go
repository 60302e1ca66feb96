package registry

// The route option rate = "5/m" (or {limit = "5/m", key = "ip" | "user"});
// the engine counts it (engine/identity/ratelimit.go).

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/ratelimit"
)

// RouteRate is a route's rate option.
type RouteRate struct {
	Limit ratelimit.Limit
	Key   string // ratelimit.KeyUser (the default) or ratelimit.KeyIP
}

func (rr *RouteRate) String() string { return rr.Limit.String() + " per " + rr.Key }

const rateOptUsage = `option rate must be "<count>/<s|m|h|d>" or {limit = "<count>/<s|m|h|d>", key = "ip"|"user"}`

// parseRateOpt reads rate = "5/m" or {limit = "5/m", key = "ip"|"user"}.
func parseRateOpt(v lua.LValue) (*RouteRate, error) {
	rr := &RouteRate{Key: ratelimit.KeyUser}
	limit := v
	if t, ok := v.(*lua.LTable); ok {
		limit = t.RawGetString("limit")
		var err error
		t.ForEach(func(k, kv lua.LValue) {
			switch {
			case err != nil:
			case k.String() == "limit":
			case k.String() == "key":
				s, _ := kv.(lua.LString)
				if s != ratelimit.KeyIP && s != ratelimit.KeyUser {
					err = fmt.Errorf(`option rate: key must be "ip" or "user"`)
				}
				rr.Key = string(s)
			default:
				err = fmt.Errorf("option rate: unknown field %q (known: limit, key)", k.String())
			}
		})
		if err != nil {
			return nil, err
		}
	}
	s, ok := limit.(lua.LString)
	if !ok {
		return nil, fmt.Errorf("%s", rateOptUsage)
	}
	l, err := ratelimit.Parse(string(s))
	if err != nil {
		return nil, fmt.Errorf("option %w", err)
	}
	rr.Limit = l
	return rr, nil
}
