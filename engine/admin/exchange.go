package admin

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// Data exchangers (ctx:exchanger{...}) give each entity a pluggable export
// and import, served under /admin/data-exchange:
//
//	ctx:exchanger({
//	  key = "subscription.plans", natural_key = "slug", formats = {"json", "csv"},
//	  fields = {"slug", "name", "price"},       -- column order for CSV (and the allowed fields)
//	  types = {price = "integer"},              -- converted from CSV text, checked in JSON (exchange_types.go)
//	  pii = {"email"}, secret = {"api_key"},    -- pii masked unless asked for with <key>.export.pii; secret never exported
//	  export = function(query) return rows end, -- query = {offset, limit}; fewer than limit rows ends the export
//	  import = function(rows, opts) return {created = n, updated = n, skipped = n, errors = {{row = i, error = "..."}}} end,
//	})
//
// An import runs in one transaction the engine owns: any row error, any Lua
// error, or dry_run rolls everything back.

const (
	exportPage    = 1000
	importMaxBody = 64 << 20
)

// ExchangerSpec is the static part of an exchanger declaration.
type ExchangerSpec struct {
	Key        string   `json:"key"`
	Plugin     string   `json:"plugin"`
	Label      string   `json:"label,omitempty"`
	NaturalKey string   `json:"natural_key"`
	Formats    []string `json:"formats"`
	Fields     []string `json:"fields,omitempty"`
	// Types are the declared field types (exchange_types.go): field name
	// to "string", "integer", "number", "boolean", "json" or "timestamp".
	Types  map[string]string `json:"types,omitempty"`
	PII    []string          `json:"pii,omitempty"`
	Secret []string          `json:"-"`
}

func (e *API) exchangeRoutes(export, imp chi.Router) {
	export.Get("/data-exchange", func(w http.ResponseWriter, r *http.Request) {
		out := append([]ExchangerSpec{}, e.Exchangers()...)
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		web.WriteJSON(w, http.StatusOK, map[string]any{"exchangers": out})
	})
	export.Get("/data-exchange/{key}/export", e.exportHandler)
	imp.Post("/data-exchange/{key}/import", e.importHandler)
}

// exchanger resolves a key and the requested format.
func (e *API) exchanger(w http.ResponseWriter, r *http.Request) (Exchanger, ExchangerSpec, string, bool) {
	key := chi.URLParam(r, "key")
	ref, ok := e.Exchanger(key)
	if !ok {
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no exchanger "+key, nil)
		return ref, ExchangerSpec{}, "", false
	}
	spec := ref.Spec()
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	for _, f := range spec.Formats {
		if f == format {
			return ref, spec, format, true
		}
	}
	web.WriteError(web.AsRespWriter(w), http.StatusBadRequest, fmt.Sprintf("exchanger %s does not offer format %q (offers %s)", key, format, strings.Join(spec.Formats, ", ")), nil)
	return ref, spec, "", false
}

func (e *API) exportHandler(w http.ResponseWriter, r *http.Request) {
	ref, spec, format, ok := e.exchanger(w, r)
	if !ok {
		return
	}
	withPII := r.URL.Query().Get("pii") == "true"
	if withPII && !e.adminMay(r, spec.Key+".export.pii") {
		web.WriteError(web.AsRespWriter(w), http.StatusForbidden, "Permission denied", map[string]any{"required": spec.Key + ".export.pii"})
		return
	}
	ex := &exporter{spec: spec, format: format, pii: withPII, w: w}
	if err := ex.run(r.Context(), ref); err != nil {
		if !ex.started {
			e.writeAdminError(w, err)
			return
		}
		e.log.Error("export failed mid-stream; the response is cut short", "exchanger", spec.Key, "err", err)
		panic(http.ErrAbortHandler) // the client sees a broken response, not a short valid one
	}
}

// exporter pages through an exchanger's export and streams the rows.
type exporter struct {
	spec    ExchangerSpec
	format  string
	pii     bool
	w       http.ResponseWriter
	started bool
	rows    int
	csv     *csv.Writer
}

func (x *exporter) run(ctx context.Context, ref Exchanger) error {
	for offset := 0; ; offset += exportPage {
		page, err := ref.Export(ctx, offset, exportPage)
		if err != nil {
			return err
		}
		if err := x.write(page); err != nil {
			return err
		}
		if len(page) < exportPage {
			return x.finish()
		}
	}
}

func (x *exporter) start() {
	if x.started {
		return
	}
	x.started = true
	if x.format == "csv" {
		x.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		x.csv = csv.NewWriter(x.w)
		_ = x.csv.Write(x.spec.Fields)
		return
	}
	x.w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(x.w, "[")
}

func (x *exporter) write(page []map[string]any) error {
	x.start()
	for _, row := range page {
		for _, f := range x.spec.Secret {
			delete(row, f)
		}
		if !x.pii {
			for _, f := range x.spec.PII {
				if _, ok := row[f]; ok {
					row[f] = "***"
				}
			}
		}
		if x.csv != nil {
			rec := make([]string, len(x.spec.Fields))
			for i, f := range x.spec.Fields {
				rec[i] = csvValue(row[f])
			}
			if err := x.csv.Write(rec); err != nil {
				return err
			}
			continue
		}
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		if x.rows > 0 {
			_, _ = io.WriteString(x.w, ",")
		}
		_, _ = io.WriteString(x.w, "\n")
		if _, err := x.w.Write(b); err != nil {
			return err
		}
		x.rows++
	}
	if x.csv != nil {
		x.csv.Flush()
		return x.csv.Error()
	}
	_ = http.NewResponseController(x.w).Flush()
	return nil
}

func (x *exporter) finish() error {
	x.start()
	if x.csv == nil {
		_, err := io.WriteString(x.w, "\n]\n")
		return err
	}
	return nil
}

func csvValue(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(t, 10)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// adminMay reports whether the admin caller holds perm: the static admin
// token holds everything; a JWT needs the permission.
func (e *API) adminMay(r *http.Request, perm string) bool {
	req := hostapi.RequestFrom(r.Context())
	if req == nil || req.User == nil {
		return true // the static admin token
	}
	return e.Check(req.User, perm)
}
