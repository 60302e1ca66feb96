package stubgen

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSig(t *testing.T) {
	for _, tc := range []struct {
		sig  string
		want signature
	}{
		{"uuid(): string", signature{Name: "uuid", Func: true, Results: []string{"string"}}},
		{"info(msg: string, fields?: table)", signature{Name: "info", Func: true,
			Params: []param{{"msg", false, "string"}, {"fields", true, "table"}}}},
		{"encode(v: any): string?, string?", signature{Name: "encode", Func: true,
			Params: []param{{"v", false, "any"}}, Results: []string{"string?", "string?"}}},
		{"query(sql: string, ...: any): table[]?, table?", signature{Name: "query", Func: true,
			Params: []param{{"sql", false, "string"}, {"...", false, "any"}}, Results: []string{"table[]?", "table?"}}},
		{"tx(fn: fun(tx: table): ...any): ...any", signature{Name: "tx", Func: true,
			Params: []param{{"fn", false, "fun(tx: table): ...any"}}, Results: []string{"...any"}}},
		{"m(t: table<string, any>, x)", signature{Name: "m", Func: true,
			Params: []param{{"t", false, "table<string, any>"}, {"x", false, "any"}}}},
		{"null: userdata", signature{Name: "null", Type: "userdata"}},
		{"  keys(prefix?: string): string[]  ", signature{Name: "keys", Func: true,
			Params: []param{{"prefix", true, "string"}}, Results: []string{"string[]"}}},
	} {
		t.Run(tc.sig, func(t *testing.T) {
			got, err := parseSig(tc.sig)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseSig_Errors(t *testing.T) {
	for _, tc := range []struct{ sig, want string }{
		{"", "does not start with a name"},
		{"(x)", "does not start with a name"},
		{"f", "want name(params)"},
		{"f(x", "unbalanced"},
		{"f(x)) : y", "unexpected"},
		{"f(x) string", "unexpected"},
		{"f(x):", "without result types"},
		{"f(x): a, , b", "empty result type"},
		{"f(...: any, x: string)", "must be the last parameter"},
		{"f(): ...any, string", "variadic result must be the last"},
		{"f(a b: string)", "bad parameter"},
		{"f(a:)", "empty type"},
		{"v:", "value without a type"},
		{"f(a)\n: b", "several lines"},
	} {
		t.Run(tc.sig, func(t *testing.T) {
			_, err := parseSig(tc.sig)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
