package web

import (
	"sync"
	"time"
)

// The fan-out of server-sent events to this engine's subscribers (the
// engine relays NOTIFYd events into it; engine/serve/stream.go serves the
// connections).

// streamBuffer is how many events a slow subscriber may lag before it is
// dropped.
const streamBuffer = 64

// StreamEvent is one server-sent event.
type StreamEvent struct {
	Channel string `json:"channel"`
	Event   string `json:"event,omitempty"`
	ID      string `json:"id,omitempty"`
	Data    string `json:"data"`
}

// Broker fans events out to the connections subscribed to a channel.
type Broker struct {
	mu   sync.Mutex
	subs map[string]map[chan StreamEvent]struct{}
	hist map[string]*channelHistory // recent events, for Last-Event-ID (streamhistory.go)
}

// NewBroker makes a broker without subscribers.
func NewBroker() *Broker { return &Broker{subs: map[string]map[chan StreamEvent]struct{}{}} }

// Subscribe subscribes to channel and, when lastID is set, returns the
// events held after it (found: the history still has that event), taken
// under the same lock: none is both replayed and relayed.
func (b *Broker) Subscribe(channel, lastID string) (ch chan StreamEvent, missed []StreamEvent, found bool) {
	ch = make(chan StreamEvent, streamBuffer)
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.keepHistory(channel, time.Now())
	if lastID != "" {
		missed, found = h.after(lastID)
	}
	if b.subs[channel] == nil {
		b.subs[channel] = map[chan StreamEvent]struct{}{}
	}
	b.subs[channel][ch] = struct{}{}
	return ch, missed, found
}

// Unsubscribe ends a subscription; the channel's history is kept a while
// after its last subscriber left.
func (b *Broker) Unsubscribe(channel string, ch chan StreamEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[channel][ch]; ok {
		delete(b.subs[channel], ch)
		close(ch)
	}
	if len(b.subs[channel]) == 0 {
		delete(b.subs, channel)
		if h := b.hist[channel]; h != nil {
			h.idle = time.Now()
		}
	}
}

// Deliver sends ev to this engine's subscribers; one that lags by more than
// streamBuffer events is dropped (its connection ends; the client
// reconnects and replays).
func (b *Broker) Deliver(ev StreamEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h := b.hist[ev.Channel]; h != nil {
		h.add(ev)
	}
	for ch := range b.subs[ev.Channel] {
		select {
		case ch <- ev:
		default:
			delete(b.subs[ev.Channel], ch)
			close(ch)
		}
	}
}
