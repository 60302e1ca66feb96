package engine

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
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/web"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	lua "github.com/yuin/gopher-lua"
)

// Data exchangers (ctx:exchanger{...}) give each entity a pluggable export
// and import, served under /admin/data-exchange:
//
//	ctx:exchanger({
//	  key = "subscription.plans", natural_key = "slug", formats = {"json", "csv"},
//	  fields = {"slug", "name", "price"},       -- column order for CSV (and the allowed fields)
//	  pii = {"email"}, secret = {"api_key"},    -- pii masked unless asked for with <key>.export.pii; secret never exported
//	  export = function(query) return rows end, -- query = {offset, limit}; fewer than limit rows ends the export
//	  import = function(rows, opts) return {created = n, updated = n, skipped = n, errors = {{row = i, error = "..."}}} end,
//	})
//
// An import runs in one transaction the engine owns: any row error, any Lua
// error, or dry_run rolls everything back.

const (
	exportPage    = 1000
	importTimeout = 10 * time.Minute
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
	PII        []string `json:"pii,omitempty"`
	Secret     []string `json:"-"`
}

func exchangerFromSpec(plugin string, t *lua.LTable) (ExchangerSpec, error) {
	str := func(k string) string { s, _ := t.RawGetString(k).(lua.LString); return string(s) }
	list := func(k string) []string {
		var out []string
		if l, ok := t.RawGetString(k).(*lua.LTable); ok {
			for i := 1; i <= l.Len(); i++ {
				if s, ok := l.RawGetInt(i).(lua.LString); ok {
					out = append(out, string(s))
				}
			}
		}
		return out
	}
	sp := ExchangerSpec{Key: str("key"), Plugin: plugin, Label: str("label"), NaturalKey: str("natural_key"),
		Formats: list("formats"), Fields: list("fields"), PII: list("pii"), Secret: list("secret")}
	if len(sp.Formats) == 0 {
		sp.Formats = []string{"json", "csv"}
	}
	for _, f := range sp.Formats {
		if f != "json" && f != "csv" {
			return sp, fmt.Errorf("exchanger %s: format %q (json, csv)", sp.Key, f)
		}
		if f == "csv" && len(sp.Fields) == 0 {
			return sp, fmt.Errorf("exchanger %s: csv needs fields (the column order)", sp.Key)
		}
	}
	switch {
	case sp.NaturalKey == "":
		return sp, fmt.Errorf("exchanger %s: natural_key is required", sp.Key)
	case t.RawGetString("export").Type() != lua.LTFunction:
		return sp, fmt.Errorf("exchanger %s: export must be function(query)", sp.Key)
	case t.RawGetString("import").Type() != lua.LTFunction:
		return sp, fmt.Errorf("exchanger %s: import must be function(rows, opts)", sp.Key)
	}
	return sp, nil
}

func (e *Engine) exchangeRoutes(export, imp chi.Router) {
	export.Get("/data-exchange", func(w http.ResponseWriter, r *http.Request) {
		ix := e.index.Load()
		out := []ExchangerSpec{}
		for _, ref := range ix.exchangers {
			out = append(out, ref.gen.exchangers[ref.name()])
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		web.WriteJSON(w, http.StatusOK, map[string]any{"exchangers": out})
	})
	export.Get("/data-exchange/{key}/export", e.exportHandler)
	imp.Post("/data-exchange/{key}/import", e.importHandler)
}

func (ref regRef) name() string { return ref.gen.regs[ref.idx].Name }

// exchanger resolves a key and the requested format.
func (e *Engine) exchanger(w http.ResponseWriter, r *http.Request) (regRef, ExchangerSpec, string, bool) {
	key := chi.URLParam(r, "key")
	ref, ok := e.index.Load().exchangers[key]
	if !ok {
		web.WriteError(web.AsRespWriter(w), http.StatusNotFound, "no exchanger "+key, nil)
		return ref, ExchangerSpec{}, "", false
	}
	spec := ref.gen.exchangers[key]
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

func (e *Engine) exportHandler(w http.ResponseWriter, r *http.Request) {
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

func (x *exporter) run(ctx context.Context, ref regRef) error {
	for offset := 0; ; offset += exportPage {
		var page []map[string]any
		err := ref.run(ctx, func(s *State, v lua.LValue) error {
			var err error
			page, err = s.callExport(ctx, v.(*lua.LTable), offset, exportPage)
			return err
		})
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

func (s *State) callExport(ctx context.Context, spec *lua.LTable, offset, limit int) ([]map[string]any, error) {
	L := s.L
	q := L.CreateTable(0, 2)
	q.RawSetString("offset", lua.LNumber(offset))
	q.RawSetString("limit", lua.LNumber(limit))
	L.Push(spec.RawGetString("export"))
	L.Push(q)
	if err := L.PCall(1, 1, nil); err != nil {
		return nil, luavm.WithCtxErr(ctx, normalizeLuaError(s.gen.Plugin, "export", err))
	}
	v := L.Get(-1)
	L.Pop(1)
	g, err := luaconv.ToGo(v)
	if err != nil {
		return nil, fmt.Errorf("export returned %v", err)
	}
	list, ok := g.([]any)
	if !ok && g != nil {
		if m, isMap := g.(map[string]any); !isMap || len(m) != 0 {
			return nil, fmt.Errorf("export must return an array of rows, got %T", g)
		}
	}
	rows := make([]map[string]any, 0, len(list))
	for i, item := range list {
		row, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("export row %d is not a table", offset+i+1)
		}
		rows = append(rows, row)
	}
	return rows, nil
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
func (e *Engine) adminMay(r *http.Request, perm string) bool {
	req := hostapi.RequestFrom(r.Context())
	if req == nil || req.User == nil {
		return true // the static admin token
	}
	return e.Check(req.User, perm)
}
