package fieldtype

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestFromText(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		in   string
		want any
		err  string
	}{
		{Integer, "42", int64(42), ""},
		{Integer, " -7 ", int64(-7), ""},
		{Integer, "4.5", nil, `"4.5" is not an integer`},
		{Integer, "abc", nil, "not an integer"},
		{Integer, "99999999999999999999", nil, "not an integer"},
		{Number, "4.5", 4.5, ""},
		{Number, "NaN", nil, "not a number"},
		{Boolean, "TRUE", true, ""},
		{Boolean, "0", false, ""},
		{Boolean, "maybe", nil, "not a boolean"},
		{JSON, `{"a": [1, 2]}`, map[string]any{"a": []any{json.Number("1"), json.Number("2")}}, ""},
		{JSON, `{"a"`, nil, "is not JSON"},
		{JSON, `1 2`, nil, "is not JSON"},
		{Timestamp, "2026-11-26T13:34:56+01:00", "2026-11-26T12:34:56Z", ""},
		{Timestamp, "2026-11-26 12:34:56", "2026-11-26T12:34:56Z", ""},
		{Timestamp, "2026-11-26", "2026-11-26T00:00:00Z", ""},
		{Timestamp, "26.11.2026", nil, "not a timestamp"},
		{String, " x ", " x ", ""},
	} {
		got, err := FromText(tc.t, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %q: %v, want error %q", tc.t, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q = %#v, %v; want %#v", tc.t, tc.in, got, err, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		in   any
		want any
		err  string
	}{
		{Integer, json.Number("3"), int64(3), ""},
		{Integer, json.Number("3.5"), nil, "3.5 is not an integer"},
		{Integer, "12", int64(12), ""},
		{Integer, true, nil, "true is not an integer"},
		{Number, json.Number("3.5"), 3.5, ""},
		{Boolean, false, false, ""},
		{Boolean, "yes", true, ""},
		{String, json.Number("3"), nil, "3 is not a string"},
		{Timestamp, "2026-11-26", "2026-11-26T00:00:00Z", ""},
		{Timestamp, json.Number("1"), nil, "not a timestamp"},
		{JSON, map[string]any{"a": "b"}, map[string]any{"a": "b"}, ""},
		{JSON, "text", "text", ""},
	} {
		got, err := Check(tc.t, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %v: %v, want error %q", tc.t, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v = %#v, %v; want %#v", tc.t, tc.in, got, err, tc.want)
		}
	}
	if _, err := Parse("date"); err == nil || !strings.Contains(err.Error(), "integer") {
		t.Errorf("Parse: %v", err)
	}
}
