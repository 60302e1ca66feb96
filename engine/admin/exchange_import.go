package admin

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/engine/web"
)

// ImportResult is what an import did (or, with dry_run, would do).
type ImportResult struct {
	Exchanger string     `json:"exchanger"`
	DryRun    bool       `json:"dry_run"`
	Mode      string     `json:"mode"`
	Created   int        `json:"created"`
	Updated   int        `json:"updated"`
	Skipped   int        `json:"skipped"`
	Errors    []RowError `json:"errors"`
	Committed bool       `json:"committed"`
	Rows      int        `json:"rows"`
}

// RowError is a per-row import failure (rows count from 1).
type RowError struct {
	Row   int    `json:"row"`
	Error string `json:"error"`
}

func (e *API) importHandler(w http.ResponseWriter, r *http.Request) {
	ref, spec, format, ok := e.exchanger(w, r)
	if !ok {
		return
	}
	if !e.adminMay(r, spec.Key+".import") {
		web.WriteError(web.AsRespWriter(w), http.StatusForbidden, "Permission denied", map[string]any{"required": spec.Key + ".import"})
		return
	}
	mode := r.URL.Query().Get("mode")
	if mode == "" {
		mode = "upsert"
	}
	if mode != "upsert" && mode != "replace_all" {
		web.WriteError(web.AsRespWriter(w), http.StatusBadRequest, "mode must be upsert or replace_all", nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, importMaxBody+1))
	if err != nil || len(body) > importMaxBody {
		web.WriteError(web.AsRespWriter(w), http.StatusRequestEntityTooLarge, fmt.Sprintf("import body must be at most %d bytes", importMaxBody), nil)
		return
	}
	rows, err := parseImport(format, body)
	if err != nil {
		web.WriteError(web.AsRespWriter(w), http.StatusBadRequest, err.Error(), nil)
		return
	}
	res := ImportResult{Exchanger: spec.Key, DryRun: r.URL.Query().Get("dry_run") == "1" || r.URL.Query().Get("dry_run") == "true",
		Mode: mode, Rows: len(rows), Errors: checkRows(spec, format, rows)}
	if len(res.Errors) == 0 {
		err = ref.Import(r.Context(), rows, &res)
	}
	switch {
	case err != nil:
		e.writeAdminError(w, err)
	case len(res.Errors) > 0:
		web.WriteJSON(w, http.StatusUnprocessableEntity, res)
	default:
		web.WriteJSON(w, http.StatusOK, res)
	}
}

// parseImport reads a JSON array of objects or a CSV file with a header.
func parseImport(format string, body []byte) ([]map[string]any, error) {
	if format == "csv" {
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("bad CSV: %v", err)
		}
		if len(recs) == 0 {
			return nil, errors.New("empty CSV: a header row is required")
		}
		rows := make([]map[string]any, 0, len(recs)-1)
		for _, rec := range recs[1:] {
			row := map[string]any{}
			for i, col := range recs[0] {
				if i < len(rec) && rec[i] != "" {
					row[col] = rec[i]
				}
			}
			rows = append(rows, row)
		}
		return rows, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		return nil, fmt.Errorf("bad JSON: the body must be an array of objects: %v", err)
	}
	return rows, nil
}

// validateRows checks what the engine knows: the natural key is there and
// the fields are the exchanger's.
func validateRows(spec ExchangerSpec, rows []map[string]any) []RowError {
	allowed := map[string]bool{}
	for _, f := range spec.Fields {
		allowed[f] = true
	}
	var errs []RowError
	seen := map[string]int{}
	for i, row := range rows {
		nk, ok := row[spec.NaturalKey]
		if s := fmt.Sprint(nk); !ok || nk == nil || strings.TrimSpace(s) == "" {
			errs = append(errs, RowError{Row: i + 1, Error: spec.NaturalKey + " (the natural key) is missing"})
			continue
		} else if first, dup := seen[s]; dup {
			errs = append(errs, RowError{Row: i + 1, Error: fmt.Sprintf("%s %q repeats row %d", spec.NaturalKey, s, first)})
			continue
		} else {
			seen[s] = i + 1
		}
		if len(allowed) > 0 {
			for f := range row {
				if !allowed[f] {
					errs = append(errs, RowError{Row: i + 1, Error: "unknown field " + f})
					break
				}
			}
		}
	}
	return errs
}
