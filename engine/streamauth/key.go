package streamauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Stream events travel between engines by NOTIFY, which any database role
// may send on any channel — plugin roles included. So an engine signs what
// it sends with a key kept in vbwd.keys (out of plugin roles' reach) and
// relays only what carries a valid signature: a plugin cannot inject events
// into another plugin's stream with pg_notify.

// SigLen is the length of the hex signature before the JSON payload.
const SigLen = 2 * sha256.Size

// LoadKey reads (or makes, on the first engine) the key that signs stream
// notifications, in db under locked (the migrations' lock). Failing that it
// keeps a key of its own: this engine's events still reach its
// subscribers, other engines drop them.
func LoadKey(db *pgxpool.Pool, locked func(ctx context.Context, fn func() error) error, log *slog.Logger) []byte {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	streamKey := key
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := locked(ctx, func() error {
		return db.QueryRow(ctx, `with ins as (insert into vbwd.keys values ('stream', $1) on conflict do nothing returning key)
			select key from ins union all select key from vbwd.keys where name = 'stream' limit 1`, key).Scan(&streamKey)
	})
	if err != nil {
		log.Error("stream events: no shared signing key, other engines will not relay this one's events", "err", err)
	}
	return streamKey
}

// Sign prefixes payload with its signature by key.
func Sign(key, payload []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil)) + string(payload)
}

// Verify returns the payload of a notification signed by key, false when
// the signature is missing or wrong.
func Verify(key []byte, n string) ([]byte, bool) {
	if len(n) < SigLen {
		return nil, false
	}
	sig, err := hex.DecodeString(n[:SigLen])
	if err != nil {
		return nil, false
	}
	payload := []byte(n[SigLen:])
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	return payload, hmac.Equal(sig, mac.Sum(nil))
}
