package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// IssuerConfig is one identity provider whose tokens the engine accepts
// (root config.json, vbwd.auth.issuers[]).
type IssuerConfig struct {
	// Issuer is the exact iss claim of its tokens.
	Issuer string `json:"issuer"`
	// JWKSURL is where its keys are; or DiscoveryURL, its OpenID Connect
	// discovery document (…/.well-known/openid-configuration), whose
	// jwks_uri is used and whose issuer must equal Issuer.
	JWKSURL      string `json:"jwks_url,omitempty"`
	DiscoveryURL string `json:"discovery_url,omitempty"`
	// Audience must be one of the token's aud values.
	Audience string `json:"audience"`
	// RolesClaim is the dotted path of the roles in the claims, e.g.
	// "realm_access.roles" (Keycloak); default "roles". A list of strings,
	// or one string of space-separated roles.
	RolesClaim string `json:"roles_claim,omitempty"`
	// Algorithms accepted; default RS256, ES256 and EdDSA.
	Algorithms []string `json:"algorithms,omitempty"`
}

// DefaultAlgorithms are the asymmetric algorithms accepted from issuers.
var DefaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// Timing of the remote key sets.
const (
	jwksRefreshInterval = time.Hour        // keys are fetched again this often
	jwksHTTPTimeout     = 5 * time.Second  // one fetch of a key set or discovery document
	unknownKIDInterval  = 30 * time.Second // at most one extra fetch per issuer per interval, for a kid not in the set
)

// remoteIssuer verifies one configured issuer's tokens. Its key set is
// fetched on the first token that names it (so an unreachable identity
// provider does not delay the engine's start), cached and refreshed by the
// keyfunc library, and fetched again on an unknown kid at most once per
// unknownKIDInterval.
type remoteIssuer struct {
	cfg    IssuerConfig
	ctx    context.Context // ends the library's refresh goroutine
	client *http.Client
	log    *slog.Logger
	parser *jwt.Parser

	mu      sync.Mutex
	kf      keyfunc.Keyfunc
	retry   *rate.Limiter // bounds discovery retries after a failure
	lastErr error
}

func newRemoteIssuer(ctx context.Context, cfg IssuerConfig, leeway time.Duration, client *http.Client, log *slog.Logger) *remoteIssuer {
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	return &remoteIssuer{
		cfg: cfg, ctx: ctx, client: client, log: log,
		parser: jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience), jwt.WithLeeway(leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt()),
		retry: rate.NewLimiter(rate.Every(unknownKIDInterval), 1),
	}
}

// keyfunc returns the issuer's key function, made on first use.
func (ri *remoteIssuer) keyfunc(ctx context.Context) (keyfunc.Keyfunc, error) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if ri.kf != nil {
		return ri.kf, nil
	}
	if !ri.retry.Allow() {
		return nil, fmt.Errorf("keys of %s unavailable: %w", ri.cfg.Issuer, ri.lastErr)
	}
	jwksURL, err := ri.jwksURL(ctx)
	if err == nil {
		ri.kf, err = keyfunc.NewDefaultOverrideCtx(ri.ctx, []string{jwksURL}, keyfunc.Override{
			Client:            ri.client,
			HTTPTimeout:       jwksHTTPTimeout,
			RefreshInterval:   jwksRefreshInterval,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDInterval), 1),
			// the wait for the limiter and the fetch share this bound: a kid
			// seen again within the interval fails at once, not after a wait
			RateLimitWaitMax: jwksHTTPTimeout,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(_ context.Context, err error) {
					ri.log.Warn("cannot fetch an issuer's keys", "issuer", ri.cfg.Issuer, "url", u, "err", err)
				}
			},
		})
	}
	if err != nil {
		ri.lastErr = err
		return nil, fmt.Errorf("keys of %s: %w", ri.cfg.Issuer, err)
	}
	return ri.kf, nil
}

// jwksURL is the configured JWKS URL, or the discovery document's jwks_uri.
func (ri *remoteIssuer) jwksURL(ctx context.Context) (string, error) {
	if ri.cfg.JWKSURL != "" {
		return ri.cfg.JWKSURL, nil
	}
	ctx, cancel := context.WithTimeout(ctx, jwksHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ri.cfg.DiscoveryURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := ri.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery: %s answered %d", ri.cfg.DiscoveryURL, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != ri.cfg.Issuer {
		return "", fmt.Errorf("discovery: document names issuer %q, configured %q", doc.Issuer, ri.cfg.Issuer)
	}
	if doc.JWKSURI == "" {
		return "", errors.New("discovery: no jwks_uri")
	}
	return doc.JWKSURI, nil
}

// verify checks token against the issuer's keys, audience and times.
func (ri *remoteIssuer) verify(ctx context.Context, token string) (jwt.MapClaims, error) {
	kf, err := ri.keyfunc(ctx)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if _, err := ri.parser.ParseWithClaims(token, claims, kf.KeyfuncCtx(ctx)); err != nil {
		return nil, err
	}
	return claims, nil
}

// claimPath reads the value at a dotted path of claims ("realm_access.roles").
func claimPath(claims map[string]any, path string) any {
	var v any = claims
	for part := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// rolesOf reads roles at path: a list of strings, or a string of
// space-separated roles (as OAuth's scope is).
func rolesOf(claims map[string]any, path string) []string {
	roles := []string{}
	switch v := claimPath(claims, path).(type) {
	case []any:
		for _, r := range v {
			if s, ok := r.(string); ok && s != "" {
				roles = append(roles, s)
			}
		}
	case string:
		roles = append(roles, strings.Fields(v)...)
	}
	return roles
}
