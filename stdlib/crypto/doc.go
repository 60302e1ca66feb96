// Package crypto is the vbwd.crypto host module: identifiers, digests, MACs,
// random tokens and encodings for plugins.
//
//	local crypto = require("vbwd.crypto")
//	local id = crypto.uuid7()                         -- time-ordered, good primary key
//	local token = crypto.random_token()               -- 32 random bytes, URL-safe base64
//	local sig = crypto.hmac_sha256(secret, payload)   -- lower-case hex
//	if not crypto.constant_time_eq(sig, given) then return 401, { error = "bad signature" } end
//
// Randomness comes from crypto/rand. Digests and MACs are returned as
// lower-case hex; Lua strings are byte strings, so binary input is fine.
package crypto
