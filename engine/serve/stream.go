package serve

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/gen"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	vstream "github.com/vbwd-platform/vbwd-engine/stdlib/stream"
	lua "github.com/yuin/gopher-lua"
)

// Server-Sent Events without holding a Lua state: a stream route's handler
// returns {channel = "<plugin>.<name>", events = {...}}; the route call then
// gives the state back and keeps the connection here, subscribed to the
// channel in the engine's broker (the engine's stream.go publishes).

const (
	streamHeartbeat = 15 * time.Second
	// streamWriteTimeout bounds one write to a stream's client (longer than
	// a heartbeat, so a reading client never meets it).
	streamWriteTimeout = 2 * streamHeartbeat
)

// serveStream answers a stream route after its handler returned the
// subscription: it writes the SSE headers and the handler's events, then
// relays the channel until the client goes away, the generation g that
// served it retires (reload, disable) or the engine stops; the last two end
// with a final event telling the client to reconnect.
func (s *Server) serveStream(w *web.RespWriter, r *http.Request, g *gen.Generation, channel string, initial []web.StreamEvent) {
	// A reconnecting client (Last-Event-ID) gets what it missed: from this
	// engine's history of the channel, else from the handler's events.
	lastID := web.LastEventID(r)
	ch, missed, found := s.cfg.Broker.Subscribe(channel, lastID)
	defer s.cfg.Broker.Unsubscribe(channel, ch)
	switch {
	case found:
		initial = missed
	case lastID != "":
		initial = web.EventsAfter(initial, lastID)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// A stream outlives the server's ReadTimeout by design: lift the read
	// deadline (else the connection's background read fails and cancels it).
	_ = rc.SetReadDeadline(time.Time{})
	// A client that stops reading must not hold this goroutine (and its
	// subscription) forever: every iteration writes within
	// streamWriteTimeout, which is longer than the heartbeat interval.
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	for _, ev := range initial {
		web.WriteSSE(w, ev)
	}
	_ = rc.Flush()
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	for {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		select {
		case ev, ok := <-ch:
			if !ok {
				return // lagged too far, or unsubscribed
			}
			web.WriteSSE(w, ev)
		case <-beat.C:
			_, _ = w.Write([]byte(": keep-alive\n\n"))
		case <-r.Context().Done():
			return
		case <-g.StreamsDone():
			web.WriteReconnect(w, rc, "plugin "+g.Plugin+" was reloaded or disabled")
			return
		case <-s.cfg.StreamsDone:
			web.WriteReconnect(w, rc, "the server is shutting down")
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// streamResult reads a stream handler's result: {channel = "...", events =
// {{event=, id=, data=}}} where data may be a string or a table (sent as
// JSON). The channel must be the plugin's own.
func streamResult(plugin string, v lua.LValue) (string, []web.StreamEvent, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return "", nil, fmt.Errorf("a stream handler must return {channel = ...}, got %s", v.Type())
	}
	channel, _ := t.RawGetString("channel").(lua.LString)
	if !strings.HasPrefix(string(channel), plugin+".") {
		return "", nil, fmt.Errorf("stream channel %q must be %s.<name>", string(channel), plugin)
	}
	var evs []web.StreamEvent
	if list, ok := t.RawGetString("events").(*lua.LTable); ok {
		for i := 1; i <= list.Len(); i++ {
			et, _ := list.RawGetInt(i).(*lua.LTable)
			if et == nil {
				continue
			}
			ev, err := streamEventFrom(string(channel), et.RawGetString("event"), et.RawGetString("id"), et.RawGetString("data"))
			if err != nil {
				return "", nil, err
			}
			evs = append(evs, ev)
		}
	}
	return string(channel), evs, nil
}

func streamEventFrom(channel string, event, id, data lua.LValue) (web.StreamEvent, error) {
	ev := web.StreamEvent{Channel: channel}
	if s, ok := event.(lua.LString); ok {
		ev.Event = string(s)
	}
	if id != lua.LNil {
		ev.ID = id.String()
	}
	d, err := vstream.Data(data)
	if err != nil {
		return ev, fmt.Errorf("stream event data: %w", err)
	}
	ev.Data = d
	if err := web.CheckSSEField("id", ev.ID); err != nil {
		return ev, err
	}
	return ev, web.CheckSSEField("event", ev.Event)
}
