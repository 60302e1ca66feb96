package relay

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// Without a database the relay delivers to this engine's subscribers at
// once, checks the SSE fields of vbwd.stream, relays from the start, and
// Close ends the streams once however often it is called. (With a database
// the engine's stream tests cover the NOTIFY path.)
func TestRelay_WithoutDatabase(t *testing.T) {
	b := web.NewBroker()
	r := New(Config{Broker: b, InPlace: &pgcoord.InPlace{}, Log: slog.Default(), Quit: make(chan struct{}), Group: &sync.WaitGroup{}})
	r.Start()
	r.Await(context.Background(), 0)
	if !r.Listening() {
		t.Error("a relay without a database is not listening")
	}
	ch, _, _ := b.Subscribe("chat.room.1", "")
	defer b.Unsubscribe("chat.room.1", ch)
	if err := (Publisher{R: r}).Publish(context.Background(), "chat.room.1", "message", "7", "hi"); err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Data != "hi" || ev.ID != "7" || ev.Event != "message" {
		t.Errorf("delivered %+v", ev)
	}
	err := (Publisher{R: r}).Publish(context.Background(), "chat.room.1", "bad\nevent", "", "x")
	if err == nil || !strings.Contains(err.Error(), "event") {
		t.Errorf("an event name with a newline: %v", err)
	}
	r.Close()
	r.Close()
	select {
	case <-r.Done():
	default:
		t.Error("Done is open after Close")
	}
}
