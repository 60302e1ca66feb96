package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// TestEventSourceInBrowser is issue 13's browser case: a page of the
// engine's origin in headless Chromium gets a stream ticket with fetch and a
// Bearer token, opens a real EventSource on a meinchat room with
// ?ticket=... (an EventSource sends no Authorization header) and receives the
// messages posted to the room; it closes, messages are posted while it is
// away, and a new EventSource with a fresh ticket and last_event_id=<the
// last id it saw> (the query form: a new EventSource cannot set the
// Last-Event-ID header) receives only those, in order, then live ones.
func TestEventSourceInBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		t.Skip("no Chromium: `make chromium` (or apt-get install chromium) installs Debian's; VBWD_CHROMIUM names another")
	}
	root := t.TempDir()
	copyPlugins(t, root, "subscription", "meinchat")
	writeFile(t, filepath.Join(root, "plugins.json"), `{"plugins": {"subscription": {"enabled": true}, "meinchat": {"enabled": true}}}`)
	pool, err := pgxpool.New(t.Context(), pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	eng, base := startEngine(t, root, pool, adminToken)
	if _, err := eng.Populate(t.Context(), "subscription"); err != nil {
		t.Fatal(err)
	}
	mint := func(id, role string) string {
		tok, err := auth.Mint(jwtSecret, id, []string{role}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	alice, bob, ops := mint("alice", "subscriber"), mint("bob", "subscriber"), mint("ops", "admin")
	send := func(method, path, tok, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	// meinchat needs a live plan: an administrator grants it.
	for _, id := range []string{"alice", "bob"} {
		if code, m := send("POST", "/api/v1/subscription/grants", ops, `{"user_id": "`+id+`", "plan": "basic"}`); code != 201 {
			t.Fatalf("grant: %d %v", code, m)
		}
	}
	if code, m := send("POST", "/api/v1/meinchat/rooms", alice, `{"slug": "tea", "title": "Tea"}`); code != 201 {
		t.Fatalf("room: %d %v", code, m)
	}
	if code, m := send("POST", "/api/v1/meinchat/rooms/tea/join", bob, ""); code != 201 && code != 200 {
		t.Fatalf("join: %d %v", code, m)
	}
	post := func(text string) string {
		t.Helper()
		code, m := send("POST", "/api/v1/meinchat/rooms/tea/messages", alice, `{"body": "`+text+`"}`)
		if code != 201 {
			t.Fatalf("post: %d %v", code, m)
		}
		id, _ := json.Marshal(m["id"])
		return string(id)
	}

	b := newBrowser(t, exe)
	// Any page of the engine's origin will do: the script runs there.
	b.run("a page of the engine's origin", chromedp.Navigate(base+"/healthz"))
	const path = "/api/v1/meinchat/rooms/tea/events"
	// open gets a ticket as bob and opens an EventSource; events land in
	// window.got as "id|data".
	open := func(lastID string) {
		t.Helper()
		script := fmt.Sprintf(`(async () => {
			const r = await fetch('/stream-tickets', {method: 'POST',
				headers: {'Authorization': 'Bearer ' + %s, 'Content-Type': 'application/json'},
				body: JSON.stringify({path: %s})});
			const j = await r.json();
			if (r.status !== 201 || !j.ticket) return 'POST /stream-tickets: ' + r.status + ' ' + JSON.stringify(j);
			let url = %s + '?ticket=' + encodeURIComponent(j.ticket);
			if (%s) url += '&last_event_id=' + encodeURIComponent(%s);
			window.got = []; window.opened = false; window.errors = 0;
			window.es = new EventSource(url);
			es.addEventListener('message', e => got.push(e.lastEventId + '|' + e.data));
			es.onopen = () => { window.opened = true; };
			es.onerror = () => { window.errors++; };
			return 'ok';
		})()`, js(bob), js(path), js(path), js(lastID), js(lastID))
		res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
		if err != nil || res != "ok" {
			b.fail("open an EventSource", fmt.Errorf("%s %v", res, err))
		}
		b.poll("the EventSource opens", `window.opened === true`)
	}
	// waitGot waits until window.got holds exactly want (ids, in order).
	waitGot := func(step string, want ...string) {
		t.Helper()
		b.poll(step, fmt.Sprintf(`window.got.length >= %d`, len(want)))
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`window.got`))
		if err != nil {
			b.fail(step, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %q, want ids %q", step, got, want)
		}
		for i, w := range want {
			if id, _, _ := strings.Cut(got[i], "|"); id != w {
				t.Fatalf("%s: got %q, want ids %q (only what was missed, in order)", step, got, want)
			}
		}
	}

	open("")
	m1, m2 := post("one"), post("two")
	waitGot("the first two messages", m1, m2)
	if got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.got[0]`)); !strings.Contains(got, `"one"`) {
		t.Errorf("the first message's data: %q", got)
	}
	b.run("close the EventSource", chromedp.Evaluate[chromedp.Void](`es.close()`))

	// Away: three and four. Back with last_event_id = two.
	m3, m4 := post("three"), post("four")
	open(m2)
	waitGot("after last_event_id "+m2, m3, m4)
	m5 := post("five")
	waitGot("live after the replay", m3, m4, m5)
	b.run("close again", chromedp.Evaluate[chromedp.Void](`es.close()`))
}
