// Package auth is the vbwd.auth host module: the engine as a token issuer.
//
//	local auth = require("vbwd.auth")
//	local token, err = auth.issue({ sub = account.id, roles = { "subscriber" }, ttl = 900 })
//
// Tokens are EdDSA (Ed25519) JWTs signed with the engine's key, whose public
// half is served at /.well-known/jwks.json, so the engine accepts them as
// bearer tokens (req.user) and other services can verify them. Each carries
// the issuing plugin in the claim vbwd_plugin; the admin API does not accept
// them (roles a plugin hands out never reach the engine's own API).
package auth
