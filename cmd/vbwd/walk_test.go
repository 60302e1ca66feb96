package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBusinessWalk drives the three business plugins over real HTTP as one
// user would: plans -> a granted subscription -> tarot daily card -> draws beyond the limit
// (429) -> join a meinchat room -> post and receive the message over SSE ->
// cancel -> the chat becomes read-only and tarot answers 402.
func TestBusinessWalk(t *testing.T) {
	const secret = "walk-secret"
	base := serveWalk(t, secret, "subscription", "tarot", "meinchat")
	alice, bob := mintToken(t, secret, "alice", "subscriber"), mintToken(t, secret, "bob", "subscriber")
	call := func(method, path, tok, body string) (int, map[string]any) {
		t.Helper()
		return walkCall(t, base, method, path, tok, body)
	}
	// Plans, then a subscription to basic (tarot_daily_limit 3, meinchat),
	// granted by an administrator (TestBillingWalk pays for it).
	if code, m := call("GET", "/api/v1/subscription/plans", "", ""); code != 200 || len(m["plans"].([]any)) != 3 {
		t.Fatalf("plans: %d %v", code, m)
	}
	grantBasic(t, base, secret, "alice", "bob")
	// Tarot: the daily card, then draws until the plan's limit answers 429.
	code, m := call("GET", "/api/v1/tarot/daily", alice, "")
	if code != 200 || m["card"] == nil {
		t.Fatalf("daily card: %d %v", code, m)
	}
	draws := 1
	for ; draws <= 10; draws++ {
		if code, _ = call("GET", "/api/v1/tarot/daily", alice, ""); code == 429 {
			break
		}
	}
	if code != 429 || draws != 3 {
		t.Errorf("beyond the daily limit of 3: %d after %d draws", code, draws)
	}
	// meinchat: alice makes a room, bob joins and listens, alice posts.
	teaRoom(t, base, alice, bob)
	req, _ := http.NewRequest("GET", base+"/api/v1/meinchat/rooms/tea/events", nil)
	req.Header.Set("Authorization", "Bearer "+bob)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	if code, m := call("POST", "/api/v1/meinchat/rooms/tea/messages", alice, `{"body": "hello bob"}`); code != 201 {
		t.Fatalf("post: %d %v", code, m)
	}
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case d, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			got = strings.Contains(d, `"hello bob"`)
		case <-deadline:
			t.Fatal("bob did not receive the message over SSE within 10s")
		}
	}
	// Cancel: tarot answers 402 at once; the chat turns read-only when the
	// durable subscription.cancelled event is delivered.
	if code, m := call("POST", "/api/v1/subscription/cancel", alice, ""); code != 200 {
		t.Fatalf("cancel: %d %v", code, m)
	}
	if code, _ := call("GET", "/api/v1/tarot/daily", alice, ""); code != 402 {
		t.Errorf("tarot after cancel: %d, want 402", code)
	}
	stopAt := time.Now().Add(10 * time.Second)
	for {
		code, m := call("POST", "/api/v1/meinchat/rooms/tea/messages", alice, `{"body": "still here?"}`)
		if code == 403 && m["error"] == "read-only" {
			break
		}
		if time.Now().After(stopAt) {
			t.Fatalf("the chat did not become read-only within 10s: %d %v", code, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
