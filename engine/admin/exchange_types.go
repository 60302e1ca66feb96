package admin

import (
	"sort"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/internal/fieldtype"
)

// The declared field types of an exchanger (ctx:exchanger{types = ...},
// parsed by engine/bus's exchange_types.go) applied to imported rows: a CSV
// cell is text and is converted to its declared type before the plugin's
// import sees the row; a JSON value is checked the same way.

// convertFieldTypes converts the typed fields of rows in place (CSV text or
// JSON values) and returns a RowError per value that does not fit.
func convertFieldTypes(spec ExchangerSpec, format string, rows []map[string]any) []RowError {
	if len(spec.Types) == 0 {
		return nil
	}
	fields := make([]string, 0, len(spec.Types))
	for f := range spec.Types {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var errs []RowError
	for i, row := range rows {
		var msgs []string
		for _, f := range fields {
			v, ok := row[f]
			if !ok || v == nil {
				continue
			}
			t := fieldtype.Type(spec.Types[f])
			var out any
			var err error
			if s, isText := v.(string); isText && format == "csv" {
				out, err = fieldtype.FromText(t, s)
			} else {
				out, err = fieldtype.Check(t, v)
			}
			if err != nil {
				msgs = append(msgs, f+": "+err.Error())
				continue
			}
			row[f] = out
		}
		if len(msgs) > 0 {
			errs = append(errs, RowError{Row: i + 1, Error: strings.Join(msgs, "; ")})
		}
	}
	return errs
}

// checkRows is validateRows plus the declared types, errors ordered by row.
func checkRows(spec ExchangerSpec, format string, rows []map[string]any) []RowError {
	errs := append(validateRows(spec, rows), convertFieldTypes(spec, format, rows)...)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	return errs
}
