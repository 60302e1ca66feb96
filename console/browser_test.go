package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// TestConsoleInBrowser drives the console in headless Chromium against a
// real engine running the shipped plugins on a real database: log in,
// reload, a broken reload, the config editor, a cascading disable and the
// re-enable, the route catalogue, a CSV export and a dry-run import,
// logout — and a console facing an engine whose admin API is off. It takes
// a screenshot of every page into a temporary directory it prints.
func TestConsoleInBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		t.Skip("no Chromium: `make chromium` (or apt-get install chromium) installs Debian's; VBWD_CHROMIUM names another")
	}
	root := t.TempDir()
	copyPlugins(t, root, "hello", "notes", "subscription", "tarot", "meinchat")
	writeFile(t, filepath.Join(root, "plugins.json"), `{"plugins": {"hello": {"enabled": true}, "notes": {"enabled": true},
		"subscription": {"enabled": true}, "tarot": {"enabled": true}, "meinchat": {"enabled": true}}}`)
	writeFile(t, filepath.Join(root, "config.json"), `{"vbwd": {"roles": {"vbwd-admin": ["admin.*"]}}}`)
	pool, err := pgxpool.New(t.Context(), pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	eng, base := startEngine(t, root, pool, adminToken)
	if _, err := eng.Populate(t.Context(), "subscription"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, exe)

	// Login: a wrong token is refused, the admin token lets in.
	b.run("open the console", chromedp.Navigate(base+"/admin/ui"), chromedp.WaitVisible(chromedp.ID("token")))
	b.shot("01-login")
	b.run("type a wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-token"), chromedp.Click(chromedp.ID("login")))
	b.waitText("#login-msg", "refused this token")
	b.set("#token", "")
	b.run("type the token", chromedp.SendKeys(chromedp.ID("token"), adminToken), chromedp.Click(chromedp.ID("login")))
	b.waitText(`tr[data-plugin="hello"] .state`, "enabled")
	b.waitText(`tr[data-plugin="subscription"]`, "meinchat, tarot")
	b.waitText("#node", "ready")
	// traffic shows as requests/s and p95 (from /metrics) at the next refreshes
	for range 20 {
		if status, body := get(t, base+"/api/v1/hello/world", ""); status != http.StatusOK {
			t.Fatalf("hello: %d %s", status, body)
		}
	}
	b.waitText(`tr[data-plugin="hello"] .p95`, "ms")
	b.shot("02-plugins")

	// Reload after an edit: a new generation serves.
	initLua := filepath.Join(root, "plugins", "hello", "init.lua")
	orig, err := os.ReadFile(initLua)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, initLua, string(orig)+"\n-- edited\n")
	b.click(`tr[data-plugin="hello"] button.reload`)
	b.waitText(`tr[data-msg-for="hello"]`, "hello reloaded: generation 2 serves")

	// A broken reload: file:line inline, and the old generation serves on.
	lines := strings.Split(string(orig), "\n")
	brokenLine := len(lines) + 2
	writeFile(t, initLua, string(orig)+"\n\nlocal broken = = 1\n")
	b.click(`tr[data-plugin="hello"] button.reload`)
	b.waitText(`tr[data-msg-for="hello"]`, "plugins/hello/init.lua:")
	msg := b.text(`tr[data-msg-for="hello"]`)
	if !strings.Contains(msg, "plugins/hello/init.lua:"+strconv.Itoa(brokenLine)) || !strings.Contains(msg, "old generation (2) is still serving") {
		t.Errorf("broken reload message %q: want plugins/hello/init.lua:%d and that generation 2 still serves", msg, brokenLine)
	}
	b.waitText(`tr[data-plugin="hello"] .state`, "older generation serving")
	if status, body := get(t, base+"/api/v1/hello/world", ""); status != http.StatusOK || !strings.Contains(body, "Hello, world") {
		t.Errorf("hello after the broken reload: %d %s", status, body)
	}
	b.shot("03-broken-reload")
	writeFile(t, initLua, string(orig))
	b.click(`tr[data-msg-for="hello"] button.dismiss`)
	b.click(`tr[data-plugin="hello"] button.reload`)
	b.waitText(`tr[data-msg-for="hello"]`, "reloaded: generation 3")
	b.click("#rescan")
	b.waitText("#rescan-result", "Rescan: nothing changed.")

	// Config: violations next to their fields, nothing saved; then a valid value.
	b.run("open hello", chromedp.Navigate(base+"/admin/ui/#/plugin/hello"))
	b.waitText(`[data-field="greeting"] .help`, "Word put before the name")
	b.waitText(`[data-field="max_name_length"] .help`, "range 1…256")
	b.set("#cfg-greeting", strings.Repeat("x", 41))
	b.set("#cfg-max_name_length", "999")
	b.click("#config-save")
	b.waitText(`.violation[data-for="max_name_length"]`, "256")
	b.waitText(`.violation[data-for="greeting"]`, "40")
	b.waitText("#config-msg", "nothing was saved")
	b.shot("04-config-violation")
	b.set("#cfg-greeting", "Howdy")
	b.set("#cfg-max_name_length", "64")
	b.click("#config-save")
	b.waitText("#config-msg", "Saved: generation 4")
	if status, body := get(t, base+"/api/v1/hello/world", ""); status != http.StatusOK || !strings.Contains(body, "Howdy, world") {
		t.Errorf("hello after the config change: %d %s", status, body)
	}
	b.waitText("#plugin-regs", "Events handled")
	b.shot("05-plugin")

	// A reload adding a route that fails: the route is catalogued and the
	// failure shows among the plugin's recent errors with its request id.
	cur, err := os.ReadFile(initLua)
	if err != nil {
		t.Fatal(err)
	}
	at := strings.Index(string(cur), "function P.routes(r)\n")
	if at < 0 {
		t.Fatal("hello's init.lua has no function P.routes(r)")
	}
	failLine := strings.Count(string(cur[:at]), "\n") + 2
	at += len("function P.routes(r)\n")
	writeFile(t, initLua, string(cur[:at])+"  r:get(\"/fail/now\", { summary = \"always fails\" }, function() error(\"kaboom\") end)\n"+string(cur[at:]))
	b.run("plugins", chromedp.Navigate(base+"/admin/ui/#/plugins"))
	b.click(`tr[data-plugin="hello"] button.reload`)
	b.waitText(`tr[data-msg-for="hello"]`, "hello reloaded: generation 5 serves")
	status, body := get(t, base+"/api/v1/hello/fail/now", "")
	if status != http.StatusInternalServerError {
		t.Fatalf("GET /api/v1/hello/fail/now: %d %s", status, body)
	}
	var failed struct {
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal([]byte(body), &failed)
	b.run("hello again", chromedp.Navigate(base+"/admin/ui/#/plugin/hello"))
	b.waitText("#errors", failed.RequestID)
	b.waitText("#errors", "plugins/hello/init.lua:"+strconv.Itoa(failLine))
	b.waitText("#plugin-routes", "/api/v1/hello/fail/now")
	b.shot("06-recent-errors")

	// Disable with cascade, then enable again.
	b.run("back to plugins", chromedp.Navigate(base+"/admin/ui/#/plugins"))
	b.click(`tr[data-plugin="subscription"] button.disable`)
	b.waitText(`tr[data-msg-for="subscription"]`, "meinchat, tarot depend on subscription")
	b.shot("07-cascade")
	b.click(`tr[data-msg-for="subscription"] button.cascade`)
	for _, p := range []string{"subscription", "tarot", "meinchat"} {
		b.waitText(`tr[data-plugin="`+p+`"] .state`, "disabled")
	}
	for _, p := range []string{"subscription", "tarot", "meinchat"} {
		b.click(`tr[data-plugin="` + p + `"] button.enable`)
		b.waitText(`tr[data-plugin="`+p+`"] .state`, "enabled")
	}

	// The route catalogue.
	b.run("routes", chromedp.Navigate(base+"/admin/ui/#/routes"))
	b.waitText(`#routes [data-route="POST /api/v1/subscription/plans"]`, "permission")
	b.waitText(`#routes [data-route="GET /api/v1/hello/fail/now"]`, "always fails")
	b.shot("08-routes")

	// Export CSV (a real download), then a dry-run import of it with a bad row.
	b.run("data exchange", chromedp.Navigate(base+"/admin/ui/#/exchange"))
	card := `.exchanger[data-key="subscription.plans"]`
	b.click(card + " button.export-csv")
	b.waitText(card+" .export-summary", "Exported")
	csv := b.waitFile("subscription.plans.csv")
	rows := strings.Split(strings.TrimSpace(csv), "\n")
	if len(rows) < 2 || !strings.HasPrefix(rows[0], "slug,") {
		t.Fatalf("exported CSV:\n%s", csv)
	}
	b.click(card + " button.use-export")
	b.poll("add a row without its natural key",
		`(() => { const t = document.querySelector('`+card+` .import-body'); t.value = t.value.trimEnd() + '\n,No slug,100,EUR,month,true\n'; return true; })()`)
	b.click(card + " button.import-run")
	b.waitText(card+" .import-summary", "row errors: nothing was committed")
	b.waitText(card+" .import-rows", "slug (the natural key) is missing")
	b.click(card + " button.use-export")
	b.click(card + " button.import-run")
	b.waitText(card+" .import-summary", "Dry run: rolled back, nothing was changed")
	b.waitText(card+" .import-rows", "ok (dry run)")
	b.shot("09-exchange")

	// Logout forgets the token.
	b.click("#logout")
	b.run("login page again", chromedp.WaitVisible(chromedp.ID("token")))
	stored, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`sessionStorage.getItem('vbwd.admin.token') || ''`))
	if err != nil || stored != "" {
		t.Errorf("the token outlived the logout: %q (%v)", stored, err)
	}

	// An admin JWT signs in too; a JWT whose roles hold no admin.* grant is told so.
	for _, c := range []struct{ role, want string }{
		{"admin", "lack admin.plugins.read"},
		{"vbwd-admin", ""},
	} {
		jwt, err := auth.Mint(jwtSecret, "ops", []string{c.role}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b.set("#token", jwt)
		b.click("#login")
		if c.want != "" {
			b.waitText("#login-msg", c.want)
			continue
		}
		b.waitText(`tr[data-plugin="hello"] .state`, "enabled")
	}
	b.click("#logout")
	b.run("signed out", chromedp.WaitVisible(chromedp.ID("token")))

	// An engine without an admin token and admin grants: the admin API is off.
	offRoot := t.TempDir()
	writeFile(t, filepath.Join(offRoot, "plugins", ".keep"), "")
	_, offBase := startEngine(t, offRoot, nil, "")
	b.run("console of an engine whose admin API is off", chromedp.Navigate(offBase+"/admin/ui/"))
	b.waitText("#login-msg", "The admin API is off")
	b.shot("10-admin-off")
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	return call(t, http.MethodGet, url, token)
}

func call(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}
