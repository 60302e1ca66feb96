package engine

import (
	"net/http"
	"strings"
	"testing"
)

// Log fragments of the sandbox's refusals.
const (
	probesSrc = `src=plugins/attacker/attacker/probes\.lua:\d+`
	noGlobal  = `(attempt to (call|index) a non-(function|table) object|is not available in plugins).*` + probesSrc
)

// hostileCases is the main corpus: every case passes on the engine as it is.
func hostileCases() []hostileCase {
	var cs []hostileCase
	// Removed globals and libraries: using them is an ordinary Lua error.
	for _, p := range []string{"os_execute", "os_getenv", "io_open", "io_popen", "load", "loadstring", "dofile",
		"loadfile", "debug", "getfenv", "setfenv", "newproxy", "collectgarbage", "string_dump", "module",
		"package", "printregs", "channel", "rawget_os", "string_mt_dump"} {
		cs = append(cs, luaErr(p, noGlobal))
	}
	// require resolves vbwd.* host modules and the plugin's own modules only.
	for _, pm := range [][2]string{
		{"require_os", `only vbwd\.\* host modules and the plugin's own attacker\.\* modules`},
		{"require_io", `only vbwd\.\* host modules`},
		{"require_debug", `only vbwd\.\* host modules`},
		{"require_path", `only vbwd\.\* host modules`},
		{"require_abs", `only vbwd\.\* host modules`},
		{"require_other", `require\(\\"victim\.secret\\"\): only vbwd\.\* host modules`},
		{"require_other_root", `only vbwd\.\* host modules`},
		{"require_vbwd_bare", `only vbwd\.\* host modules`},
		{"require_empty", `only vbwd\.\* host modules`},
		{"require_dots", `bad module name segment`},
		{"require_own_dotdot", `bad module name segment`},
		{"require_nul", `bad module name segment`},
		{"require_host_fake", `no such host module \(have: vbwd\.auth, vbwd\.crypto`},
		{"require_host_path", `no such host module`},
		{"require_circular", `circular require`},
		{"require_symlink", `require\(\\"attacker\.leak\\"\): module not found`},
		{"require_symlink_dir", `module not found`},
		{"require_table", `bad argument #1 to require \(string expected, got table\)`},
	} {
		cs = append(cs, luaErr(pm[0], pm[1]))
	}
	// Protected objects.
	cs = append(cs,
		luaErr("req_setmetatable", `cannot change a protected metatable`),
		luaErr("req_write", `req\.method is read-only`),
	)
	// Poison in the poisoner's own states must not reach healthy and victim
	// (the after-case check compares their answers to the first ones).
	for _, p := range []string{"string_mt", "string_mt_field", "string_lib", "string_setmetatable", "string_mt_locked", "table_lib",
		"json_module", "shared_value", "shared_module", "globals_mt", "rawset_require", "rawset_string",
		"rawset_type", "require_cache"} {
		cs = append(cs, hostileCase{name: "poison/" + p, path: "/api/poisoner/poison/" + p, status: 200,
			want: `"poisoned":"` + p + `","took":true`})
	}
	// What a request keeps (req, its params and methods, a coroutine that
	// captured it, the build-phase ctx and router) is dead afterwards.
	keep := []string{"/api/attacker/call/keep"}
	cs = append(cs,
		hostileCase{name: "kept_req", prep: keep, path: "/api/attacker/call/kept_req", status: 500, log: `req is used after its request finished`},
		hostileCase{name: "kept_params", prep: keep, path: "/api/attacker/call/kept_params", status: 500, log: `req\.params is used after its request finished`},
		hostileCase{name: "kept_json", prep: keep, path: "/api/attacker/call/kept_json", status: 500, log: `req is used after its request finished`},
		luaErr("yield_outside", `can not yield from outside of a coroutine|yield`),
		luaErr("return_coroutine", `cannot encode thread at \$\.co`),
	)
	// Deadlines hold through pcall, xpcall, coroutines, metamethods,
	// callbacks of Go builtins, services and event handlers.
	for _, p := range []string{"loop", "pcall_loop", "pcall_error_loop", "xpcall_loop", "coroutine_loop", "sort_loop",
		"gsub_loop", "index_loop", "tostring_loop", "service_loop", "emit_loop"} {
		cs = append(cs, deadline(p))
	}
	// Caps and recursion.
	cs = append(cs,
		luaErr("rep_cap", `string\.rep: result of 1073741824 bytes exceeds the sandbox limit`),
		luaErr("rep_overflow", `string\.rep: result of .* exceeds the sandbox limit`),
		luaErr("json_amplify", `JSON encoding exceeds the limit|memory budget`),
		luaErr("concat_cap", `concat: result of \d+ bytes exceeds the sandbox limit`),
		luaErr("recursion", `stack overflow`),
		luaErr("index_recursion", `stack overflow`),
		luaErr("tostring_recursion", `stack overflow`),
	)
	// Error objects of every type: a status error only from a well-formed
	// {status = 4xx/5xx}, anything else 500 "internal".
	cs = append(cs,
		luaErr("err_nil", `handler failed`),
		luaErr("err_function", `handler failed`),
		luaErr("err_thread", `handler failed`),
		luaErr("err_req", `handler failed`),
		luaErr("err_tostring_raises", `handler failed`),
		luaErr("err_status_string", `handler failed`),
		luaErr("err_status_200", `handler failed`),
		luaErr("err_status_fraction", `handler failed`),
		luaErr("err_status_huge", `handler failed`),
		luaErr("err_status_nan", `handler failed`),
		luaErr("err_huge_message", `handler failed`),
		luaErr("err_in_handler_of_error", `handler failed`),
		hostileCase{name: "err_forged_fields", path: "/api/attacker/call/err_forged_fields", status: 400,
			want: `"error":"real message"`, unwant: `forged`},
		refusedWith("err_extra_cycle", 409, `^\{"error":"cycle extra","request_id":"hostile-\d+"\}$`),
		refusedWith("err_extra_function", 409, `^\{"error":"function extra","request_id":"hostile-\d+"\}$`),
		refusedWith("err_message_table", 418, `"error":"I'm a teapot"`),
	)
	// Response bodies that are not JSON data.
	cs = append(cs,
		luaErr("json_cycle", `encoding the response body: cannot encode cyclic table at \$\.self`),
		luaErr("json_nan", `encoding the response body: .*NaN`),
		luaErr("json_inf", `encoding the response body: .*(Inf|infinite)`),
		luaErr("json_deep", `encoding the response body: .*deeper than 200`),
		luaErr("json_function", `cannot encode function at \$\.f`),
		luaErr("json_userdata", `cannot encode userdata at \$\.r`),
		luaErr("json_bool_key", `encoding the response body: .*boolean`),
		luaErr("json_table_key", `encoding the response body: .*table`),
		refusedWith("json_encode_cycle", 422, `cyclic`),
		refusedWith("json_decode_deep", 422, `nesting deeper than 200`),
	)
	// Request bodies: 400 with the reason, never a 5xx.
	for _, nb := range [][2]string{
		{"request_json_deep", strings.Repeat("[", 100000)},
		{"request_json_open", `{"a": `},
		{"request_json_nan", `NaN`},
		{"request_json_trailer", `{} {}`},
		{"request_json_huge", `1e400`},
		{"request_json_ctrl", "\"\x00\""},
	} {
		cs = append(cs, hostileCase{name: nb[0], method: "POST", path: "/api/attacker/json", send: nb[1], status: 400,
			want: `"error":"invalid JSON body: `})
	}
	cs = append(cs, hostileCase{name: "request_json_empty", method: "POST", path: "/api/attacker/json", status: 400,
		want: `request body is empty`})
	// Status codes and headers.
	for _, p := range []string{"status_600", "status_99", "status_negative", "status_fraction", "status_nan", "status_huge"} {
		cs = append(cs, luaErr(p, `handler returned status .*, want an integer in 200\.\.599`))
	}
	cs = append(cs,
		luaErr("headers_not_table", `handler returned headers as a string, want a table`),
		luaErr("header_table_name", `handler returned a header with a table name`),
		hostileCase{name: "header_crlf_value", path: "/api/attacker/call/header_crlf_value", status: 200, check: noInjectedHeader},
		hostileCase{name: "header_lf_value", path: "/api/attacker/call/header_lf_value", status: 200, check: noInjectedHeader},
		hostileCase{name: "header_crlf_name", path: "/api/attacker/call/header_crlf_name", status: 200, check: noInjectedHeader},
		hostileCase{name: "header_content_type_crlf", path: "/api/attacker/call/header_content_type_crlf", status: 200, check: noInjectedHeader},
	)
	// Namespaces: registrations, events, streams, services and shared values
	// of another plugin are refused.
	for _, km := range [][2]string{
		{"provide", `bad argument #2 to provide \(service name \\"victim\.svc\\" must be attacker\.`},
		{"permission", `permission key \\"victim\.read\\" must be attacker\.`},
		{"exchanger", `exchanger key \\"victim\.items\\" must be attacker\.`},
		{"every", `job name \\"victim\.job\\" must be attacker\.`},
		{"on_bad_name", `event name \\"victim\\" must be `},
		{"provide_dotless", `service name \\"attacker\\" must be attacker\.`},
		{"ctx_dot_call", `call it with a colon`},
	} {
		cs = append(cs, hostileCase{name: "ns/" + km[0], path: "/api/attacker/ns/" + km[0], status: 403, want: km[1]})
	}
	cs = append(cs,
		luaErr("emit_other", `plugin attacker may only emit and publish its own events`),
		luaErr("publish_other", `plugin attacker may only emit and publish its own events`),
		luaErr("stream_other", `channel \\"victim\.chan\\" must be attacker\.<name>`),
		refusedWith("di_other", 403, `plugin attacker does not depend on victim`),
		refusedWith("di_engine", 403, `plugin attacker does not depend on vbwd`),
		hostileCase{name: "shared_other", prep: []string{"/api/victim/set_shared"}, path: "/api/attacker/call/shared_other",
			status: 404, want: `no shared value secret in this plugin's bucket`},
		luaErr("emit_function_payload", `payload: .*function`),
		luaErr("emit_cycle_payload", `payload: cannot encode cyclic table at \$\.c`),
		luaErr("service_fn_arg", `cannot copy to service attacker\.svc: .*function`),
		luaErr("service_cycle_arg", `cannot copy to service attacker\.svc: cannot encode cyclic table`),
		luaErr("service_fn_result", `cannot be copied to the caller`),
		luaErr("service_cycle", `service call cycle: attacker -> attacker`),
		luaErr("service_write", `service attacker\.svc: the proxy is read-only`),
		// A role the attacker tried to grant victim.read to does not have it.
		hostileCase{name: "permission_grant_refused", path: "/api/victim/read", header: map[string]string{"Authorization": "Bearer $token:visitor"},
			status: 403, want: `"required":"victim\.read"`},
		hostileCase{name: "jwt_alg_none", path: "/api/victim/read", header: map[string]string{"Authorization": "Bearer " + noneJWT},
			status: 401, unwant: "victim-module-secret"},
		hostileCase{name: "admin_api_app_role", path: "/admin/plugins", header: map[string]string{"Authorization": "Bearer $token:reader"},
			status: 403},
		hostileCase{name: "path_traversal_static", path: "/api/healthy/../victim/check", status: 4},
	)
	// Manifests, configs and schemas: only the plugin itself fails, with a
	// message naming it; symlinks out of a plugin are not followed.
	cs = append(cs,
		failedPlugin("m_name_mismatch", `name "victim" does not match the plugin directory "m_name_mismatch"`),
		failedPlugin("m_prefix_admin", `url_prefix "/admin/plugins" overlaps the engine's /admin`),
		failedPlugin("m_prefix_metrics", `overlaps the engine's /metrics`),
		failedPlugin("m_prefix_slash", `must start with / and not end with /`),
		failedPlugin("m_prefix_crlf", `segment .* may hold only letters, digits`),
		failedPlugin("m_version_bad", `version "1\.0" is not semver`),
		failedPlugin("m_version_type", `version must be a string, got number`),
		failedPlugin("m_dep_range", `bad version range`),
		failedPlugin("m_dep_self", `m_dep_self`),
		failedPlugin("m_dep_missing", `not_installed is not installed`),
		failedPlugin("m_dep_type", `dependencies must be a list of strings, got string`),
		failedPlugin("m_dep_table", `dependencies\[1\] must be a string`),
		failedPlugin("m_hook_type", `initialize must be a function, got string`),
		failedPlugin("m_returns_string", `init\.lua must return the plugin table, got string`),
		failedPlugin("m_load_loop", `deadline`),
		failedPlugin("m_load_error_obj", `.`),
		failedPlugin("m_route_dup", `GET /x is registered twice`),
		failedPlugin("m_route_noslash", `route path "x" must start with /`),
		failedPlugin("m_route_unbalanced", `unbalanced \{\}`),
		failedPlugin("m_route_opt", `option timeout must be a number of seconds`),
		failedPlugin("m_route_opt_unknown", `unknown route option "admin"`),
		failedPlugin("m_config_json", `plugins/m_config_json/config\.json.*3:4: bad JSON`),
		failedPlugin("m_config_deep", `config\.json.*(depth|nest)`),
		failedPlugin("m_schema_violation", `config does not match admin-config\.json: /limit: `),
		failedPlugin("m_schema_bad", `admin-config\.json.*bad schema`),
		failedPlugin("m_schema_ref_file", `admin-config\.json.*bad schema`),
		failedPlugin("m_schema_ref_http", `admin-config\.json.*bad schema`),
		failedPlugin("m_build_db", `build|initialize|on_enable`),
		failedPlugin("m_build_shared", `build|initialize|on_enable`),
		failedPlugin("m_build_publish", `build|initialize|on_enable`),
		failedPlugin("m_build_loop", `deadline`),
		failedPlugin("M_Upper", `must be lower-case letters`),
		failedPlugin("vbwd", `reserved for the engine`),
		failedPlugin("m_link_init", `init\.lua`),
		hostileCase{name: "load/linked_dir", plugin: "linked_dir", absent: true},
	)
	return cs
}

// noneJWT is {"alg":"none"} with the reader role and no signature.
const noneJWT = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZXMiOlsicmVhZGVyIl0sImV4cCI6NDEwMjQ0NDgwMH0."

// noInjectedHeader checks that a CR or LF in a header a handler returned
// did not start a header of its own.
func noInjectedHeader(t *testing.T, r hostileResult) {
	for _, h := range []string{"Set-Cookie", "X-Evil"} {
		if v := r.header.Values(h); len(v) > 0 {
			t.Errorf("injected header %s: %q", h, v)
		}
	}
	for k, vs := range r.header {
		for _, v := range vs {
			if strings.ContainsAny(k+v, "\r\n") {
				t.Errorf("header %q: %q carries a line break", k, v)
			}
		}
	}
	if r.status != http.StatusOK {
		t.Errorf("status %d", r.status)
	}
}
