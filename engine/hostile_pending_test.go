package engine

import (
	"testing"
	"time"
)

// hostilePendingCases are attacks that broke through when the corpus was
// written: issue 10's points 1-8 and what the corpus found besides. They
// run with VBWD_HOSTILE_PENDING=1 once the fixes are merged (several of the
// memory bombs exhaust the machine's memory on an engine without them), and
// join hostileCases when they pass.
func hostilePendingCases() []hostileCase {
	var cs []hostileCase
	// Point 1: plugin SQL runs as a superuser. Each probe answers 403 with
	// the database's refusal.
	for _, p := range []string{"sql_copy_program", "sql_read_file", "sql_ls_dir", "sql_lo_import",
		"sql_vbwd_admin_changes", "sql_vbwd_outbox", "sql_vbwd_jobs", "sql_other_plugin",
		"sql_other_plugin_write", "sql_set_role", "sql_create_role", "sql_alter_system", "sql_pg_authid"} {
		c := refusedWith(p, 403, `permission denied|must be superuser|does not exist|not allowed|SQLSTATE 42501`)
		c.prep = []string{"/api/victim/count"} // the victim's table is there, with its row
		cs = append(cs, c)
	}
	cs = append(cs,
		failedPlugin("p_migration_drop", `permission denied|must be owner|does not exist`),
		hostileCase{name: "owner_table_intact", path: "/api/p_owner/count", status: 200, want: `^\{"n":1\}$`},
	)
	// Point 2: memory bombs end with a clear error (500, logged with the
	// plugin and file:line).
	for _, p := range []string{"mem_keep_strings", "mem_double", "mem_concat_numbers", "mem_format",
		"mem_format_width", "mem_gsub", "mem_coroutines", "mem_response_body"} {
		c := luaErr(p, `plugins/attacker/attacker/pending\.lua:\d+|memory|limit|budget`)
		cs = append(cs, c)
	}
	// Point 3: the deadline interrupts a backtracking pattern (and gsub,
	// quadratic in its output, found by the corpus) within
	// deadline + 100 ms (the bound here is looser for -race on a busy box).
	bt := deadline("backtrack")
	bt.within = 300*time.Millisecond + 400*time.Millisecond
	// gsub is linear now: the output-quadratic case answers at once
	gs := hostileCase{name: "cpu_gsub", path: "/api/attacker/slow/cpu_gsub", status: 200, want: `"got":"32768"`}
	cs = append(cs, bt, gs)
	// Point 4: the application's admin role is not the engine's admin.
	cs = append(cs, hostileCase{name: "admin_api_admin_role", path: "/admin/plugins",
		header: map[string]string{"Authorization": "Bearer $token:admin"}, status: 403})
	// Point 5: URL space. A route or url_prefix with .. segments, a prefix
	// inside another plugin's, and request paths with .. segments.
	cs = append(cs,
		failedPlugin("p_route_dotdot", `\.\.`),
		failedPlugin("p_prefix_dotdot", `\.\.`),
		failedPlugin("p_overlap_a", `p_overlap_b`),
		failedPlugin("p_overlap_b", `p_overlap_a`),
		hostileCase{name: "request_path_dotdot", path: "/api/attacker/files/../../../etc/passwd", status: 4, unwant: `\.\./`},
	)
	// Point 7: errors are classified by errors.Is, not by their text.
	cs = append(cs,
		luaErr("err_canceled_text", `not really: context canceled`),
		luaErr("err_deadline_text", `not really: context deadline exceeded`),
	)
	// Point 8: the low items.
	cs = append(cs,
		luaErr("status_101", `status 101`),
		luaErr("status_150", `status 150`),
		hostileCase{name: "basic_auth_on_public_route", path: "/api/healthy/ping",
			header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, status: 200},
		hostileCase{name: "jwt_iat_future", path: "/api/victim/read",
			header: map[string]string{"Authorization": "Bearer $token:future"}, status: 401},
		hostileCase{name: "admin_non_utf8_name", method: "POST", path: "/admin/plugins/%ff/reload",
			header: map[string]string{"Authorization": "Bearer " + hostileAdminToken}, status: 404},
	)
	// Found by the corpus (new): a coroutine kept from an earlier request
	// runs under that request's cancelled context, so resuming it fails
	// with "context canceled", which the engine takes for the client leaving
	// (an empty 200); the build-phase ctx and router kept past on_enable and
	// routes(r) accept registrations silently (they have no effect).
	keep := []string{"/api/attacker/call/keep"}
	cs = append(cs,
		hostileCase{name: "kept_coroutine", prep: keep, path: "/api/attacker/call/kept_coroutine", status: 500,
			want: `"error":"internal"`, log: `req is used after its request finished|context`},
		luaErr("kept_ctx", `only allowed in on_enable`),
		luaErr("kept_ctx_after", `only allowed in on_enable`),
		luaErr("kept_router", `routes|registered`),
	)
	// Found by the corpus (new): a route pattern chi panics on fails the
	// whole router at start (every plugin down) instead of its plugin; a
	// config.json symlinked out of the plugin (here to the root config.json,
	// every plugin's settings) becomes the plugin's config; a JSON file with
	// a stray } or ] after its value is accepted (found by FuzzRootJSON).
	cs = append(cs,
		failedPlugin("p_route_dup_param", `duplicate param`),
		failedPlugin("p_route_wildcard_mid", `wildcard`),
		failedPlugin("p_route_regexp", `regexp|pattern`),
		failedPlugin("p_config_trailing", `config\.json.*after the JSON value`),
		failedPlugin("p_link_config", `config\.json.*(symlink|regular file|outside)`),
		failedPlugin("p_link_schema", `admin-config\.json.*(symlink|regular file|outside)`),
		hostileCase{name: "symlinked_config_not_read", path: "/api/p_link_config/config", status: 4,
			unwant: `root-config-secret`},
	)
	return cs
}

// TestHostilePendingListed keeps the pending list honest: it must name
// cases (the lead moves them into hostileCases as the fixes land).
func TestHostilePendingListed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range append(hostileCases(), hostilePendingCases()...) {
		if seen[c.name] {
			t.Errorf("case %s is listed twice", c.name)
		}
		seen[c.name] = true
	}
}
