package openapi

import "net/http"

// Small schema builders for the engine's own routes.
func obj(props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		req := make([]any, len(required))
		for i, r := range required {
			req[i] = r
		}
		s["required"] = req
	}
	return s
}

func str(desc string) map[string]any {
	s := map[string]any{"type": "string"}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

func integer(desc string) map[string]any {
	s := map[string]any{"type": "integer"}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

func boolean(desc string) map[string]any {
	s := map[string]any{"type": "boolean"}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

func arr(items any) map[string]any { return map[string]any{"type": "array", "items": items} }

var (
	strList    = arr(str(""))
	pluginSpec = obj(map[string]any{
		"name": str(""), "version": str(""), "description": str(""),
		"state":      map[string]any{"type": "string", "enum": []any{"discovered", "enabled", "disabled", "failed"}},
		"error":      str("the last attempt's error (start, reload, enable)"),
		"outdated":   boolean("the last attempt failed and an older generation is serving"),
		"error_file": str(""), "error_line": integer(""),
		"dependencies": strList, "dependents": strList, "url_prefix": str(""),
		"generation": integer(""), "hash": str("content hash of the plugin's files"),
		"routes": strList, "permissions": strList, "events": strList, "services": strList,
		"exchangers": strList, "jobs": strList,
		"pool": obj(map[string]any{"max": integer(""), "size": integer(""), "idle": integer(""),
			"in_use": integer(""), "waits": integer(""), "wait_time_ns": integer(""), "discards": integer("")}),
		"loaded_at": map[string]any{"type": "string", "format": "date-time"},
	}, "name", "state")
	pluginDetail = map[string]any{"allOf": []any{pluginSpec, obj(map[string]any{
		"node": str("the node answering"),
		"nodes": arr(obj(map[string]any{"node": str(""), "state": str(""), "generation": integer(""),
			"hash": str(""), "updated_at": map[string]any{"type": "string", "format": "date-time"}})),
		"hash_mismatch": boolean("some node runs other files"),
	})}}
	pluginError = obj(map[string]any{"error": str(""), "plugin": str(""), "file": str(""), "line": integer(""),
		"message": str(""), "violations": arr(obj(map[string]any{"pointer": str("JSON pointer into the config"), "message": str("")}))}, "error")
	importRes = obj(map[string]any{"exchanger": str(""), "dry_run": boolean(""), "mode": str(""), "created": integer(""), "updated": integer(""), "skipped": integer(""), "rows": integer(""), "committed": boolean(""), "errors": arr(obj(map[string]any{"row": integer("counted from 1"), "error": str("")}))})
	formatArg = map[string]any{"type": "string", "enum": []any{"json", "csv"}, "description": "default json"}
)

// AdminRoutes describes the engine's admin API and data exchange (under
// /admin), the health and metrics endpoints and /openapi.json itself.
func AdminRoutes() []Route {
	const (
		read, manage, config = "admin.plugins.read", "admin.plugins.manage", "admin.config"
		export, imp, events  = "admin.data.export", "admin.data.import", "admin.events"
	)
	a := func(method, path, perm, summary string, resp any, errs map[int]string) Route {
		return Route{Method: method, Path: "/admin" + path, Permission: perm, Admin: true, Summary: summary, Response: resp, Errors: errs}
	}
	notFound := map[int]string{http.StatusNotFound: "no such plugin"}
	reloadErrs := map[int]string{http.StatusNotFound: "no such plugin", http.StatusUnprocessableEntity: "the new files fail (plugin, file, line, message); the old generation keeps serving"}
	routes := []Route{
		{Method: http.MethodGet, Path: "/healthz", Summary: "200 while the process serves", Response: obj(map[string]any{"status": str("")})},
		{Method: http.MethodGet, Path: "/readyz", Summary: "200 when every enabled plugin serves and the database answers, else 503 with the reasons"},
		{Method: http.MethodGet, Path: "/metrics", Summary: "Prometheus metrics", ContentType: "text/plain", Response: str("")},
		{Method: http.MethodGet, Path: "/openapi.json", Summary: "this document (it changes with every reload)"},
		a(http.MethodGet, "/plugins", read, "every plugin's status", obj(map[string]any{"plugins": arr(pluginSpec)}), nil),
		a(http.MethodGet, "/plugins/{name}", read, "one plugin's status and what every node sharing the database runs", pluginDetail, notFound),
		a(http.MethodGet, "/status", read, "readiness with the details /readyz leaves out", obj(map[string]any{"node": str(""), "ready": boolean(""), "reasons": strList,
			"database": obj(map[string]any{"ok": boolean(""), "error": str("")})}), nil),
		a(http.MethodGet, "/routes", read, "every served route: method, path, plugin, permission or auth", obj(map[string]any{"routes": arr(obj(map[string]any{
			"method": str(""), "path": str(""), "plugin": str(""), "permission": str(""), "auth": boolean(""), "stream": boolean(""), "summary": str("")}))}), nil),
		a(http.MethodGet, "/plugins/{name}/errors", read, "the plugin's recent Lua errors, newest first", obj(map[string]any{"plugin": str(""), "errors": arr(obj(map[string]any{
			"time": map[string]any{"type": "string", "format": "date-time"}, "request_id": str(""), "route": str(""), "generation": integer(""),
			"kind": str("error, timeout, database, ..."), "file": str(""), "line": integer(""), "message": str("")}))}), notFound),
		a(http.MethodPost, "/plugins/reload", manage, "rescan plugins/, plugins.json and config.json", obj(map[string]any{"added": strList, "removed": strList,
			"enabled": strList, "disabled": strList, "reloaded": strList, "unchanged": strList, "errors": map[string]any{"type": "object", "additionalProperties": str("")}}), nil),
		a(http.MethodPost, "/plugins/{name}/reload", manage, "blue/green reload of one plugin", obj(map[string]any{"status": map[string]any{"type": "string", "enum": []any{"reloaded", "unchanged"}},
			"plugin": str(""), "generation": integer(""), "hash": str("")}), reloadErrs),
		a(http.MethodPost, "/plugins/{name}/enable", manage, "enable a plugin (its dependencies must be enabled); persisted to plugins.json", pluginSpec,
			map[int]string{http.StatusNotFound: "no such plugin", http.StatusUnprocessableEntity: "it fails to start, or a dependency is missing"}),
		a(http.MethodPost, "/plugins/{name}/disable", manage, "disable a plugin; persisted to plugins.json", pluginSpec,
			map[int]string{http.StatusNotFound: "no such plugin", http.StatusConflict: "enabled plugins depend on it (dependents listed) and cascade was not asked for"}),
		a(http.MethodGet, "/plugins/{name}/config", config, "the root override, the merged config and the admin-config.json schema", obj(map[string]any{"plugin": str(""),
			"override": map[string]any{"type": "object"}, "config": map[string]any{"type": "object"}, "schema": map[string]any{"type": "object"}}), notFound),
		a(http.MethodPut, "/plugins/{name}/config", config, "validate, build a generation with it, persist to config.json, swap", obj(map[string]any{"status": str(""),
			"plugin": str(""), "generation": integer("")}), map[int]string{http.StatusNotFound: "no such plugin", http.StatusUnprocessableEntity: "violations, each with its JSON pointer"}),
		a(http.MethodGet, "/data-exchange", export, "the registered exchangers", obj(map[string]any{"exchangers": arr(obj(map[string]any{
			"key": str(""), "plugin": str(""), "label": str(""), "natural_key": str(""), "formats": strList, "fields": strList, "pii": strList}))}), nil),
		a(http.MethodGet, "/data-exchange/{key}/export", export, "export every row (JSON array or CSV with a header); PII masked unless ?pii=true", arr(map[string]any{"type": "object"}),
			map[int]string{http.StatusNotFound: "no such exchanger", http.StatusBadRequest: "a format the exchanger does not offer"}),
		a(http.MethodPost, "/data-exchange/{key}/import", imp, "import rows in one transaction; dry_run rolls back and reports per-row results", importRes,
			map[int]string{http.StatusNotFound: "no such exchanger", http.StatusBadRequest: "bad body", http.StatusUnprocessableEntity: "row errors (nothing committed)"}),
		a(http.MethodGet, "/events/parked", events, "parked durable events", obj(map[string]any{"events": arr(obj(map[string]any{"id": str(""), "name": str(""),
			"source": str(""), "waiting_for": strList, "attempts": integer(""), "created_at": map[string]any{"type": "string", "format": "date-time"}}))}), nil),
		a(http.MethodPost, "/events/parked/discard", events, "give up on a plugin's parked events", obj(map[string]any{"discarded": integer(""), "plugin": str("")}), nil),
	}
	for i := range routes {
		r := &routes[i]
		switch r.Path {
		case "/admin/plugins/{name}/disable":
			r.Query = obj(map[string]any{"cascade": map[string]any{"type": "boolean", "description": "disable the dependents too"}})
		case "/admin/plugins/{name}/config":
			if r.Method == http.MethodPut {
				r.Body = map[string]any{"type": "object", "description": "the plugin's config override"}
			}
		case "/admin/data-exchange/{key}/export":
			r.Query = obj(map[string]any{"format": formatArg,
				"pii": map[string]any{"type": "boolean", "description": "unmasked PII (needs <key>.export.pii)"}})
		case "/admin/data-exchange/{key}/import":
			r.Query = obj(map[string]any{"format": formatArg,
				"dry_run": map[string]any{"type": "boolean", "description": "roll back after running: per-row results only"},
				"mode":    map[string]any{"type": "string", "enum": []any{"upsert", "replace_all"}}})
			r.Body = map[string]any{"description": "a JSON array of objects, or CSV with a header row (format=csv)"}
			r.BodyTypes = []string{"application/json", "text/csv"}
		case "/admin/events/parked":
			r.Query = obj(map[string]any{"plugin": str("only this plugin's"), "limit": integer("")})
		case "/admin/events/parked/discard":
			r.Query = obj(map[string]any{"plugin": str("whose parked events"), "id": str("one event (a uuid)")}, "plugin")
		}
	}
	return routes
}
