package engine

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Stream events travel between engines by NOTIFY, which any database role
// may send on any channel — plugin roles included. So an engine signs what
// it sends with a key kept in vbwd.keys (out of plugin roles' reach) and
// relays only what carries a valid signature: a plugin cannot inject events
// into another plugin's stream with pg_notify.

// streamSigLen is the length of the hex signature before the JSON payload.
const streamSigLen = 2 * sha256.Size

// loadStreamKey reads (or makes, on the first engine) the key that signs
// stream notifications. Failing that it keeps a key of its own: this
// engine's events still reach its subscribers, other engines drop them.
func (e *Engine) loadStreamKey() {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e.streamKey = key
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.migr.Locked(ctx, func() error {
		return e.opts.DB.QueryRow(ctx, `with ins as (insert into vbwd.keys values ('stream', $1) on conflict do nothing returning key)
			select key from ins union all select key from vbwd.keys where name = 'stream' limit 1`, key).Scan(&e.streamKey)
	})
	if err != nil {
		e.log.Error("stream events: no shared signing key, other engines will not relay this one's events", "err", err)
	}
}

// signStream prefixes payload with its signature.
func (e *Engine) signStream(payload []byte) string {
	mac := hmac.New(sha256.New, e.streamKey)
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil)) + string(payload)
}

// verifyStream returns the payload of a signed notification, false when
// the signature is missing or wrong.
func (e *Engine) verifyStream(n string) ([]byte, bool) {
	if len(n) < streamSigLen {
		return nil, false
	}
	sig, err := hex.DecodeString(n[:streamSigLen])
	if err != nil {
		return nil, false
	}
	payload := []byte(n[streamSigLen:])
	mac := hmac.New(sha256.New, e.streamKey)
	mac.Write(payload)
	return payload, hmac.Equal(sig, mac.Sum(nil))
}
