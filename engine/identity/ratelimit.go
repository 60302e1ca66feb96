package identity

// ratelimit.go — the route option rate = "5/m" (or {limit = "5/m", key =
// "ip" | "user"}), counted by internal/ratelimit in PostgreSQL so that the
// limit holds across engines (in memory without a database).

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/ratelimit"
)

// AllowRate counts the call against its route's rate and answers 429 with
// Retry-After past it, before any state is borrowed. A signed-in caller is
// counted by user id when the key is "user", anyone else by client address.
// A failing store lets the call through (logged): the limiter must not turn
// a database outage into an outage of routes that need no database.
func (e Identity) AllowRate(w *web.RespWriter, r *http.Request, log *slog.Logger, plugin string, rt *registry.Route, user *hostapi.User) bool {
	kind, who := ratelimit.KeyIP, e.Proxies.ClientIP(r)
	if rt.Rate.Key == ratelimit.KeyUser && user != nil {
		kind, who = ratelimit.KeyUser, user.ID
	}
	key := plugin + " " + rt.Method + " " + rt.Path + " " + kind + ":" + who
	ok, wait, err := e.Rate.Allow(r.Context(), key, rt.Rate.Limit)
	if err != nil {
		log.Warn("rate limit not counted: the call is let through", "plugin", plugin,
			"route", rt.Method+" "+rt.Path, "err", err)
	}
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	web.WriteError(w, http.StatusTooManyRequests, "too many requests", map[string]any{"retry_after": secs})
	return false
}

// newRateLimiter counts in PostgreSQL when the engine has a database (its
// table is made at Start), in memory otherwise.
func newRateLimiter(c Config) *ratelimit.Limiter {
	if c.DB != nil {
		return ratelimit.New(ratelimit.NewPGStore(c.DB), c.Clock)
	}
	return ratelimit.New(ratelimit.NewMemStore(), c.Clock)
}

// trustedProxies reads vbwd.trusted_proxies: a list of CIDRs or addresses.
func trustedProxies(rootCfg map[string]map[string]any) (ratelimit.Proxies, error) {
	v, ok := rootCfg[spec.EngineConfigKey]["trusted_proxies"]
	if !ok {
		return nil, nil
	}
	const msg = "config.json: vbwd.trusted_proxies must be a list of CIDRs or addresses"
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s", msg)
	}
	ss := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s", msg)
		}
		ss = append(ss, s)
	}
	p, err := ratelimit.ParseProxies(ss)
	if err != nil {
		return nil, fmt.Errorf("config.json: vbwd.trusted_proxies: %w", err)
	}
	return p, nil
}
