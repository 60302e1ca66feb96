package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Config is the "auth" object of the engine settings in root config.json:
//
//	{"vbwd": {"auth": {
//	  "issuer": "https://api.example.com",
//	  "audience": "",
//	  "leeway_seconds": 30,
//	  "issuers": [{"issuer": "https://idp.example.com/realms/main",
//	               "discovery_url": "https://idp.example.com/realms/main/.well-known/openid-configuration",
//	               "audience": "vbwd-api", "roles_claim": "realm_access.roles"}]
//	}}}
type Config struct {
	// Issuer is the iss of the tokens the engine signs (vbwd.auth.issue):
	// its public base URL; default "vbwd".
	Issuer string `json:"issuer"`
	// Audience, when set, is the aud of the engine's tokens, and required
	// of them.
	Audience string `json:"audience"`
	// LeewaySeconds is the clock skew tolerated on exp, nbf and iat
	// (default 30).
	LeewaySeconds *int `json:"leeway_seconds"`
	// Issuers are the identity providers whose tokens are accepted.
	Issuers []IssuerConfig `json:"issuers"`
}

// Leeway is the configured clock skew.
func (c Config) Leeway() time.Duration {
	if c.LeewaySeconds == nil {
		return DefaultLeeway
	}
	return time.Duration(*c.LeewaySeconds) * time.Second
}

// ParseConfig decodes the value of vbwd.auth (nil: defaults), strictly:
// an unknown field is an error naming it.
func ParseConfig(v any) (Config, error) {
	var c Config
	if v == nil {
		return c, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return c, fmt.Errorf("config.json: vbwd.auth: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config.json: vbwd.auth: %w", err)
	}
	if c.LeewaySeconds != nil && (*c.LeewaySeconds < 0 || *c.LeewaySeconds > 600) {
		return c, fmt.Errorf("config.json: vbwd.auth.leeway_seconds must be between 0 and 600")
	}
	for i, ic := range c.Issuers {
		if err := ic.validate(); err != nil {
			return c, fmt.Errorf("config.json: vbwd.auth.issuers[%d]: %w", i, err)
		}
	}
	return c, nil
}
