package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

// router is the /admin API. It is built once and mounted in every
// router; while nobody can use it, it answers 404 saying how to turn it on.
// Each route needs one engine permission (see adminPermissions).
func (e *API) router() http.Handler {
	r := chi.NewRouter()
	r.Use(e.adminAuth)
	read, manage, config := e.adminNeeds(PermPluginsRead), e.adminNeeds(PermPluginsManage), e.adminNeeds(PermConfig)
	r.With(read).Get("/plugins", e.adminList)
	r.With(read).Get("/status", e.adminStatus)
	r.With(read).Get("/routes", e.RouteCatalog)
	r.With(read).Get("/plugins/{name}/errors", e.recentErrors)
	r.With(manage).Post("/plugins/reload", e.adminRescan)
	r.With(read).Get("/plugins/{name}", e.adminGet)
	r.With(manage).Post("/plugins/{name}/reload", e.adminReload)
	r.With(manage).Post("/plugins/{name}/enable", e.adminSetEnabled(true))
	r.With(manage).Post("/plugins/{name}/disable", e.adminSetEnabled(false))
	r.With(manage).Post("/packages/{action}", e.Packages)
	r.With(config).Get("/plugins/{name}/config", e.adminGetConfig)
	r.With(config).Put("/plugins/{name}/config", e.adminPutConfig)
	e.exchangeRoutes(r.With(e.adminNeeds(PermDataExport)), r.With(e.adminNeeds(PermDataImport)))
	e.parkedRoutes(r.With(e.adminNeeds(PermEvents)))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no admin route for "+r.Method+" "+r.URL.Path, nil)
	})
	return r
}

// The engine's own permissions: granted only through the root config.json
// ("vbwd": {"roles": {"<role>": ["admin.plugins", ...]}}), never by a
// plugin's declarations, the super_admin role or a bare "*". Granting a
// prefix grants what is under it: "admin.plugins" holds
// admin.plugins.read and admin.plugins.manage, "admin" or "admin.*" all.
const (
	PermPluginsRead   = "admin.plugins.read"   // list plugins, their status, /admin/status
	PermPluginsManage = "admin.plugins.manage" // reload, rescan, enable, disable
	PermConfig        = "admin.config"         // read and write plugin config overrides
	PermDataExport    = "admin.data.export"    // list exchangers, export data
	PermDataImport    = "admin.data.import"    // import data
	PermEvents        = "admin.events"         // list and discard parked events
)

// AdminPermission is the permission a role granted the whole plugin
// administration holds.
const AdminPermission = "admin.plugins"

// adminCaller is who is using the admin API: the admin token holder (every
// permission) or a JWT user (the engine grants of their roles).
type adminCaller struct {
	token bool
	user  *hostapi.User
}

type adminCallerKey struct{}

// adminAuth accepts Authorization: Bearer <VBWD_ADMIN_TOKEN> (compared in
// constant time) or a valid JWT; the route then checks its permission. The
// API is off (404) without a token and without any role granted an admin.*
// permission in the root config.json: a JWT secret alone turns nothing on.
func (e *API) adminAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := web.AsRespWriter(w)
		jwtAdmins := e.jwt.Enabled() && e.AnyAdminGrant()
		if e.opts.AdminToken == "" && !jwtAdmins {
			web.WriteError(rw, http.StatusNotFound, OffMessage, nil)
			return
		}
		header := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(header, "Bearer ")
		var caller *adminCaller
		switch {
		case ok && e.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(e.opts.AdminToken)) == 1:
			caller = &adminCaller{token: true}
		case ok && e.jwt.Enabled():
			// a valid JWT is a known caller even when no role holds an
			// admin.* grant: its requests are then refused with 403
			// tokens a plugin issued (vbwd.auth.issue) are not: the roles a
			// plugin hands out never reach the engine's own API
			if u, err := e.jwt.Verify(token); err == nil && u.Source != auth.SourceEngine {
				caller = &adminCaller{user: &hostapi.User{ID: u.ID, Roles: u.Roles, Claims: u.Claims}}
			}
		}
		if caller == nil {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="vbwd admin"`)
			web.WriteError(rw, http.StatusUnauthorized, "admin token or a JWT whose roles config.json grants admin.* permissions required (Authorization: Bearer ...)", nil)
			return
		}
		ctx := context.WithValue(r.Context(), adminCallerKey{}, caller)
		if caller.user != nil {
			ctx = hostapi.WithRequest(ctx, &hostapi.Request{ID: rw.RequestID, User: caller.user})
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

const OffMessage = "the admin API is off: set VBWD_ADMIN_TOKEN, or VBWD_JWT_SECRET and grant a role " +
	"admin.* permissions in config.json (\"vbwd\": {\"roles\": {\"vbwd-admin\": [\"admin.*\"]}})"

// adminNeeds makes a middleware refusing (403) a JWT caller whose roles the
// engine grants do not give perm.
func (e *API) adminNeeds(perm string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := r.Context().Value(adminCallerKey{}).(*adminCaller)
			if c == nil || (!c.token && !e.AllowsAdmin(c.user, perm)) {
				web.WriteError(web.AsRespWriter(w), http.StatusForbidden, "Permission denied", map[string]any{"required": perm})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (e *API) adminList(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, map[string]any{"plugins": e.Plugins()})
}

// pluginDetail is GET /admin/plugins/{name}: the plugin's status and what
// every node sharing the database runs.
type pluginDetail struct {
	PluginStatus
	Node         string       `json:"node"`
	Nodes        []NodeStatus `json:"nodes,omitempty"`
	HashMismatch bool         `json:"hash_mismatch"`
	Heal         string       `json:"heal,omitempty"` // with a mismatch: whether and how it heals
}

func (e *API) adminGet(w http.ResponseWriter, r *http.Request) {
	st, ok := e.Plugin(chi.URLParam(r, "name"))
	if !ok {
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no plugin "+chi.URLParam(r, "name"), nil)
		return
	}
	d := pluginDetail{PluginStatus: st, Node: e.opts.NodeID}
	nodes, err := e.Nodes(r.Context(), st.Name)
	if err != nil {
		e.log.Warn("admin: reading other nodes failed", "err", err)
	}
	d.Nodes = nodes
	for _, n := range nodes {
		if n.Hash != st.Hash {
			d.HashMismatch = true
		}
	}
	if d.HashMismatch {
		d.Heal = e.HealNote(r.Context(), st.Name)
	}
	web.WriteJSON(w, http.StatusOK, d)
}

func (e *API) adminReload(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if _, ok := e.Plugin(name); !ok {
		// an unknown (or non-UTF-8) name must not become a metric series
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no plugin "+strconv.Quote(name), nil)
		return
	}
	out, err := e.ApplyAdmin(r.Context(), "reload", name, nil)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	res, _ := out.(ReloadResult)
	status := "reloaded"
	if res.Unchanged {
		status = "unchanged"
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": status, "plugin": res.Plugin, "generation": res.Generation, "hash": res.Hash})
}

func (e *API) adminRescan(w http.ResponseWriter, r *http.Request) {
	res, err := e.ApplyAdmin(r.Context(), "rescan", "", nil)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, res)
}

func (e *API) adminSetEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "name")
		cascade := r.URL.Query().Get("cascade") == "true"
		action := "disable"
		if enabled {
			action = "enable"
		}
		if _, err := e.ApplyAdmin(r.Context(), action, name, map[string]bool{"cascade": cascade}); err != nil {
			e.writeAdminError(w, err)
			return
		}
		st, _ := e.Plugin(name)
		web.WriteJSON(w, http.StatusOK, st)
	}
}

func (e *API) adminGetConfig(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	override, merged, err := e.Config(name)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	out := map[string]any{"plugin": name, "override": override, "config": merged}
	var schema any
	file := filepath.Join(e.opts.Root, "plugins", name, "admin-config.json")
	if spec.ReadPluginJSONFile(file, "admin-config.json", &schema) == nil {
		out["schema"] = schema
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (e *API) adminPutConfig(w http.ResponseWriter, r *http.Request) {
	var cfg map[string]any
	body, err := io.ReadAll(io.LimitReader(r.Body, e.opts.MaxBodyBytes+1))
	if err == nil {
		err = json.Unmarshal(body, &cfg)
	}
	if err != nil || cfg == nil {
		web.WriteError(web.AsRespWriter(w), http.StatusBadRequest, "the body must be a JSON object: the plugin's config", nil)
		return
	}
	out, err := e.ApplyAdmin(r.Context(), "config", chi.URLParam(r, "name"), cfg)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	res, _ := out.(ReloadResult)
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": "saved", "plugin": res.Plugin, "generation": res.Generation})
}

// writeAdminError maps lifecycle errors to statuses: unknown plugin 404,
// dependents or wrong state 409, anything about the plugin's files 422
// with plugin, file, line and message.
func (e *API) writeAdminError(w http.ResponseWriter, err error) {
	rw := web.AsRespWriter(w)
	var (
		de  *errs.DependentsError
		ce  *spec.ConfigError
		pe  *errs.PluginError
		dep *spec.DependencyError
	)
	switch {
	case errors.Is(err, errs.ErrUnknownPlugin):
		web.WriteError(rw, http.StatusNotFound, err.Error(), nil)
	case errors.As(err, &de):
		web.WriteError(rw, http.StatusConflict, err.Error(), map[string]any{"dependents": de.Dependents,
			"hint": "disable them first, or ask for ?cascade=true"})
	case errors.Is(err, errs.ErrNotEnabled), errors.Is(err, errs.ErrEngineStopped):
		web.WriteError(rw, http.StatusConflict, err.Error(), nil)
	case errors.As(err, &ce):
		extra := map[string]any{"violations": ce.Violations}
		if errors.As(err, &pe) {
			extra["plugin"], extra["file"] = pe.Plugin, pe.File
		}
		web.WriteError(rw, http.StatusUnprocessableEntity, err.Error(), extra)
	case errors.As(err, &pe):
		web.WriteError(rw, http.StatusUnprocessableEntity, err.Error(), map[string]any{
			"plugin": pe.Plugin, "file": pe.File, "line": pe.Line, "message": pe.Err.Error()})
	case errors.As(err, &dep):
		web.WriteError(rw, http.StatusUnprocessableEntity, err.Error(), map[string]any{"chain": dep.Chain, "message": dep.Reason})
	case errors.As(err, new(*errs.RootConfigError)):
		web.WriteError(rw, http.StatusUnprocessableEntity, err.Error(), map[string]any{"file": "config.json"})
	case errors.Is(err, os.ErrNotExist):
		web.WriteError(rw, http.StatusNotFound, err.Error(), nil)
	default:
		e.log.Error("admin request failed", "err", err)
		web.WriteError(rw, http.StatusInternalServerError, err.Error(), nil)
	}
}

// adminStatus is GET /admin/status: readiness with the details /readyz
// leaves out (the database error as the driver gave it).
func (e *API) adminStatus(w http.ResponseWriter, r *http.Request) {
	ready, why, dbErr := e.Readiness(r.Context())
	out := map[string]any{"node": e.opts.NodeID, "ready": ready, "reasons": why}
	if e.opts.DB != nil {
		db := map[string]any{"ok": true}
		if err := dbErr; err != nil {
			db = map[string]any{"ok": false, "error": err.Error()}
		}
		out["database"] = db
	}
	web.WriteJSON(w, http.StatusOK, out)
}
