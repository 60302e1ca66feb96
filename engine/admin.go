package engine

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/internal/hostapi"
)

// adminRouter is the /admin API. It is built once and mounted in every
// router; without an admin token it answers 404 saying how to turn it on.
func (e *Engine) adminRouter() http.Handler {
	r := chi.NewRouter()
	r.Use(e.adminAuth)
	r.Get("/plugins", e.adminList)
	r.Post("/plugins/reload", e.adminRescan)
	r.Get("/plugins/{name}", e.adminGet)
	r.Post("/plugins/{name}/reload", e.adminReload)
	r.Post("/plugins/{name}/enable", e.adminSetEnabled(true))
	r.Post("/plugins/{name}/disable", e.adminSetEnabled(false))
	r.Get("/plugins/{name}/config", e.adminGetConfig)
	r.Put("/plugins/{name}/config", e.adminPutConfig)
	e.exchangeRoutes(r)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(asRespWriter(w), http.StatusNotFound, "no admin route for "+r.Method+" "+r.URL.Path, nil)
	})
	return r
}

// AdminPermission is the permission a JWT's roles must grant to use the
// admin API.
const AdminPermission = "admin.plugins"

// adminRoles grant AdminPermission (super_admin has every permission).
var adminRoles = []string{"admin", "super_admin"}

// adminAuth accepts Authorization: Bearer <VBWD_ADMIN_TOKEN> (compared in
// constant time) or a valid JWT whose roles grant admin.plugins. With
// neither a token nor a JWT secret configured the admin API is off.
func (e *Engine) adminAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := asRespWriter(w)
		if e.opts.AdminToken == "" && !e.jwt.Enabled() {
			writeError(rw, http.StatusNotFound, "the admin API is off: set VBWD_ADMIN_TOKEN (or VBWD_JWT_SECRET) to turn it on", nil)
			return
		}
		header := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(header, "Bearer ")
		if ok && e.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(e.opts.AdminToken)) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		if ok && e.jwt.Enabled() {
			if u, err := e.jwt.Verify(token); err == nil {
				if hasAnyRole(u.Roles, adminRoles) {
					user := &hostapi.User{ID: u.ID, Roles: u.Roles, Claims: u.Claims}
					next.ServeHTTP(w, r.WithContext(hostapi.WithRequest(r.Context(), &hostapi.Request{ID: rw.requestID, User: user})))
					return
				}
				writeError(rw, http.StatusForbidden, "Permission denied", map[string]any{"required": AdminPermission})
				return
			}
		}
		rw.Header().Set("WWW-Authenticate", `Bearer realm="vbwd admin"`)
		writeError(rw, http.StatusUnauthorized, "admin token or a JWT granting admin.plugins required (Authorization: Bearer ...)", nil)
	})
}

func hasAnyRole(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

func (e *Engine) adminList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"plugins": e.Plugins()})
}

// pluginDetail is GET /admin/plugins/{name}: the plugin's status and what
// every node sharing the database runs.
type pluginDetail struct {
	PluginStatus
	Node         string       `json:"node"`
	Nodes        []NodeStatus `json:"nodes,omitempty"`
	HashMismatch bool         `json:"hash_mismatch"`
}

func (e *Engine) adminGet(w http.ResponseWriter, r *http.Request) {
	st, ok := e.Plugin(chi.URLParam(r, "name"))
	if !ok {
		writeError(asRespWriter(w), http.StatusNotFound, "no plugin "+chi.URLParam(r, "name"), nil)
		return
	}
	d := pluginDetail{PluginStatus: st, Node: e.opts.NodeID}
	nodes, err := e.nodes(r.Context(), st.Name)
	if err != nil {
		e.log.Warn("admin: reading other nodes failed", "err", err)
	}
	d.Nodes = nodes
	for _, n := range nodes {
		if n.Hash != st.Hash {
			d.HashMismatch = true
		}
	}
	writeJSON(w, http.StatusOK, d)
}

func (e *Engine) adminReload(w http.ResponseWriter, r *http.Request) {
	out, err := e.applyAdmin(r.Context(), "reload", chi.URLParam(r, "name"), nil)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	res, _ := out.(ReloadResult)
	status := "reloaded"
	if res.Unchanged {
		status = "unchanged"
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "plugin": res.Plugin, "generation": res.Generation, "hash": res.Hash})
}

func (e *Engine) adminRescan(w http.ResponseWriter, r *http.Request) {
	res, err := e.applyAdmin(r.Context(), "rescan", "", nil)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (e *Engine) adminSetEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "name")
		cascade := r.URL.Query().Get("cascade") == "true"
		action := "disable"
		if enabled {
			action = "enable"
		}
		if _, err := e.applyAdmin(r.Context(), action, name, map[string]bool{"cascade": cascade}); err != nil {
			e.writeAdminError(w, err)
			return
		}
		st, _ := e.Plugin(name)
		writeJSON(w, http.StatusOK, st)
	}
}

func (e *Engine) adminGetConfig(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	override, merged, err := e.Config(name)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	out := map[string]any{"plugin": name, "override": override, "config": merged}
	var schema any
	file := filepath.Join(e.opts.Root, "plugins", name, "admin-config.json")
	if readJSONFile(file, "admin-config.json", &schema) == nil {
		out["schema"] = schema
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Engine) adminPutConfig(w http.ResponseWriter, r *http.Request) {
	var cfg map[string]any
	body, err := io.ReadAll(io.LimitReader(r.Body, e.opts.MaxBodyBytes+1))
	if err == nil {
		err = json.Unmarshal(body, &cfg)
	}
	if err != nil || cfg == nil {
		writeError(asRespWriter(w), http.StatusBadRequest, "the body must be a JSON object: the plugin's config", nil)
		return
	}
	out, err := e.applyAdmin(r.Context(), "config", chi.URLParam(r, "name"), cfg)
	if err != nil {
		e.writeAdminError(w, err)
		return
	}
	res, _ := out.(ReloadResult)
	writeJSON(w, http.StatusOK, map[string]any{"status": "saved", "plugin": res.Plugin, "generation": res.Generation})
}

// writeAdminError maps lifecycle errors to statuses: unknown plugin 404,
// dependents or wrong state 409, anything about the plugin's files 422
// with plugin, file, line and message.
func (e *Engine) writeAdminError(w http.ResponseWriter, err error) {
	rw := asRespWriter(w)
	var (
		de  *DependentsError
		ce  *ConfigError
		pe  *PluginError
		dep *DependencyError
	)
	switch {
	case errors.Is(err, ErrUnknownPlugin):
		writeError(rw, http.StatusNotFound, err.Error(), nil)
	case errors.As(err, &de):
		writeError(rw, http.StatusConflict, err.Error(), map[string]any{"dependents": de.Dependents,
			"hint": "disable them first, or ask for ?cascade=true"})
	case errors.Is(err, ErrNotEnabled), errors.Is(err, ErrEngineStopped):
		writeError(rw, http.StatusConflict, err.Error(), nil)
	case errors.As(err, &ce):
		extra := map[string]any{"violations": ce.Violations}
		if errors.As(err, &pe) {
			extra["plugin"], extra["file"] = pe.Plugin, pe.File
		}
		writeError(rw, http.StatusUnprocessableEntity, err.Error(), extra)
	case errors.As(err, &pe):
		writeError(rw, http.StatusUnprocessableEntity, err.Error(), map[string]any{
			"plugin": pe.Plugin, "file": pe.File, "line": pe.Line, "message": pe.Err.Error()})
	case errors.As(err, &dep):
		writeError(rw, http.StatusUnprocessableEntity, err.Error(), map[string]any{"chain": dep.Chain, "message": dep.Reason})
	case errors.As(err, new(*RootConfigError)):
		writeError(rw, http.StatusUnprocessableEntity, err.Error(), map[string]any{"file": "config.json"})
	case errors.Is(err, os.ErrNotExist):
		writeError(rw, http.StatusNotFound, err.Error(), nil)
	default:
		e.log.Error("admin request failed", "err", err)
		writeError(rw, http.StatusInternalServerError, err.Error(), nil)
	}
}
