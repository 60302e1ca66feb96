package bus

import (
	"context"
	"strings"
	"testing"
)

func TestEnterCall(t *testing.T) {
	deep := context.WithValue(context.Background(), callChainKey{}, []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7"})
	for _, tc := range []struct {
		name, caller, provider, want string
		ctx                          context.Context
	}{
		{"first call", "a", "b", "a b", context.Background()},
		{"self call", "a", "a", "a a", context.Background()},
		{"nested", "b", "c", "a b c", chainCtx("a", "b")},
		{"cycle", "b", "a", "service call cycle: a -> b -> a", chainCtx("a", "b")},
		{"self call after another", "b", "b", "a b b", chainCtx("a", "b")},
		{"second self call", "a", "a", "service call cycle: a -> a -> a", chainCtx("a", "a")},
		{"caller reached another way", "c", "d", "a b c d", chainCtx("a", "b")},
		{"cycle reached another way", "a", "b", "service call cycle: a -> b -> a -> b", chainCtx("a", "b")},
		{"depth", "p7", "p8", "p1 p2 p3 p4 p5 p6 p7 p8", deep},
		{"too deep", "p8", "p9", "service call depth exceeds 8: p1 -> p2 -> p3 -> p4 -> p5 -> p6 -> p7 -> p8 -> p9", deep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, err := enterCall(tc.ctx, tc.caller, tc.provider)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = strings.Join(ctx.Value(callChainKey{}).([]string), " ")
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func chainCtx(chain ...string) context.Context {
	return context.WithValue(context.Background(), callChainKey{}, chain)
}
