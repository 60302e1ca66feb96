package web

import (
	"net/http"
	"time"
)

// Last-Event-ID (docs/ops.md, "Browser streams"): a client reconnecting
// with the id of the last event it saw gets only what it missed. Each engine
// keeps the recent events of the channels it streams — NOTIFY brings every
// engine every event, so the history is complete from the moment a channel
// was first subscribed here — bounded in events per channel, in channels,
// and in time after the last subscriber left.

const (
	streamHistory         = 256              // events kept per channel
	streamHistoryChannels = 1024             // channels kept at most
	streamHistoryIdle     = 10 * time.Minute // kept this long after the last subscriber left
)

// channelHistory is the recent events of one channel, oldest first.
type channelHistory struct {
	events []StreamEvent
	idle   time.Time // when the last subscriber left; zero while there is one
}

func (h *channelHistory) add(ev StreamEvent) {
	if len(h.events) == streamHistory {
		copy(h.events, h.events[1:])
		h.events = h.events[:streamHistory-1]
	}
	h.events = append(h.events, ev)
}

// after returns a copy of the events after the one with id, and whether
// that event is still held.
func (h *channelHistory) after(id string) ([]StreamEvent, bool) {
	for i := len(h.events) - 1; i >= 0; i-- {
		if h.events[i].ID == id {
			return append([]StreamEvent(nil), h.events[i+1:]...), true
		}
	}
	return nil, false
}

// keepHistory starts (or resumes) the history of channel; call under b.mu.
func (b *Broker) keepHistory(channel string, now time.Time) *channelHistory {
	if b.hist == nil {
		b.hist = map[string]*channelHistory{}
	}
	h := b.hist[channel]
	if h == nil {
		b.evictHistory(now)
		h = &channelHistory{}
		b.hist[channel] = h
	}
	h.idle = time.Time{}
	return h
}

// evictHistory forgets channels idle too long, and the longest idle ones
// while there are too many; call under b.mu.
func (b *Broker) evictHistory(now time.Time) {
	var oldest string
	for c, h := range b.hist {
		if h.idle.IsZero() {
			continue
		}
		if now.Sub(h.idle) > streamHistoryIdle {
			delete(b.hist, c)
			continue
		}
		if oldest == "" || h.idle.Before(b.hist[oldest].idle) {
			oldest = c
		}
	}
	if len(b.hist) >= streamHistoryChannels && oldest != "" {
		delete(b.hist, oldest)
	}
}

// LastEventID is the id a reconnecting client saw last: EventSource's
// Last-Event-ID header, or last_event_id in the query (a new EventSource,
// opened with a new ticket, cannot set the header).
func LastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("last_event_id")
}

// EventsAfter keeps the events after the one with id, or all of them when
// none has it.
func EventsAfter(evs []StreamEvent, id string) []StreamEvent {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].ID == id {
			return evs[i+1:]
		}
	}
	return evs
}
