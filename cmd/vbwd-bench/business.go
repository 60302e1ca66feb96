package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

const benchSecret = "vbwd-bench-secret"

// businessBench measures the business plugins: tarot /daily for an active
// subscriber (a DI call into subscription plus database work per request)
// and the fan-out of one meinchat message to 1,000 SSE clients.
func businessBench(ctx context.Context, pool *pgxpool.Pool, base string, dur time.Duration, conns int) error {
	// A plan whose daily limit never stops the benchmark.
	if _, err := pool.Exec(ctx, `insert into subscription.subscription_plans (slug, name, price_minor, currency, "interval", features, active)
		values ('bench', 'Bench', 0, 'EUR', 'month', '{"tarot_daily_limit": 1000000000, "meinchat": true}', true)
		on conflict (slug) do nothing`); err != nil {
		return fmt.Errorf("bench plan: %w", err)
	}
	tok, err := auth.Mint(benchSecret, "bench-user", []string{"subscriber"}, time.Hour, time.Now())
	if err != nil {
		return err
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/subscription/subscribe", `{"plan": "bench"}`},
		{"POST", "/api/v1/meinchat/rooms", `{"slug": "bench", "title": "Bench"}`},
	} {
		if code, body, err := call(base, c.method, c.path, tok, c.body); err != nil || code >= 300 && code != 409 {
			return fmt.Errorf("%s %s: %d %s %v", c.method, c.path, code, body, err)
		}
	}
	// 100 subscribers: the draws of one user and day are serialised by the
	// plugin (its daily limit), so a single user would measure that lock.
	script, err := subscribersScript(base, 100)
	if err != nil {
		return err
	}
	defer os.Remove(script)
	rps, err := wrk(base+"/api/v1/tarot/daily", dur, conns, "-s", script)
	if err != nil {
		return err
	}
	fmt.Printf("tarot GET /daily, 100 active subscribers (DI call + database, a reading and a durable event written per request): %.0f req/s\n\n", rps)
	return fanOut(base, tok, 1000)
}

// subscribersScript subscribes n users to the bench plan and writes a wrk
// script that spreads requests over their tokens.
func subscribersScript(base string, n int) (string, error) {
	var b strings.Builder
	b.WriteString("local tokens = {\n")
	for i := 0; i < n; i++ {
		tok, err := auth.Mint(benchSecret, fmt.Sprintf("bench-%d", i), []string{"subscriber"}, time.Hour, time.Now())
		if err != nil {
			return "", err
		}
		if code, body, err := call(base, "POST", "/api/v1/subscription/subscribe", tok, `{"plan": "bench"}`); err != nil || code >= 300 && code != 409 {
			return "", fmt.Errorf("subscribe: %d %s %v", code, body, err)
		}
		fmt.Fprintf(&b, "  %q,\n", tok)
	}
	b.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i % #tokens + 1\n" +
		"  return wrk.format(nil, nil, { [\"Authorization\"] = \"Bearer \" .. tokens[i] })\nend\n")
	f, err := os.CreateTemp("", "vbwd-bench-*.lua")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(b.String())
	return f.Name(), err
}

// fanOut connects n SSE clients to one room, posts one message and reports
// the time until the last client has it.
func fanOut(base, tok string, n int) error {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	ready := make(chan error, n)
	got := make(chan time.Time, n)
	var bodies []io.Closer
	var mu sync.Mutex
	defer func() {
		for _, b := range bodies {
			b.Close()
		}
	}()
	for i := 0; i < n; i++ {
		go func() {
			req, _ := http.NewRequest("GET", base+"/api/v1/meinchat/rooms/bench/events", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != 200 {
				ready <- fmt.Errorf("stream %d: %v %v", i, err, resp)
				return
			}
			mu.Lock()
			bodies = append(bodies, resp.Body)
			mu.Unlock()
			ready <- nil
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "fan-out probe") {
					got <- time.Now()
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-ready; err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond) // the last subscriptions are registered
	start := time.Now()
	if code, body, err := call(base, "POST", "/api/v1/meinchat/rooms/bench/messages", tok, `{"body": "fan-out probe"}`); err != nil || code != 201 {
		return fmt.Errorf("post: %d %s %v", code, body, err)
	}
	lat := make([]time.Duration, 0, n)
	timeout := time.After(30 * time.Second)
	for len(lat) < n {
		select {
		case t := <-got:
			lat = append(lat, t.Sub(start))
		case <-timeout:
			return fmt.Errorf("only %d of %d clients got the message within 30s", len(lat), n)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("SSE fan-out: one message to %d connected clients: last delivery after %v (median %v)\n\n",
		n, lat[n-1].Round(time.Microsecond), lat[n/2].Round(time.Microsecond))
	return nil
}

func call(base, method, path, tok, body string) (int, string, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}
