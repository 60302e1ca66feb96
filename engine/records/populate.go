package records

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
)

// Populate runs plugins/<name>/populate.lua — which returns function(ctx) —
// for the named enabled plugins (every enabled plugin when none is named),
// in dependency order, in one state of each plugin's pool. It returns the
// plugins whose populate ran (Engine.Populate, under the engine lock).
func (s Set) Populate(ctx context.Context, log *slog.Logger, names ...string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		p, ok := s[n]
		if !ok {
			return nil, fmt.Errorf("%w: %s", errs.ErrUnknownPlugin, n)
		}
		if p.State != admin.StateEnabled {
			return nil, fmt.Errorf("%w: %s is %s", errs.ErrNotEnabled, n, p.State)
		}
		want[n] = true
	}
	var ran []string
	for _, n := range s.EnabledOrder() {
		p := s[n]
		if len(want) > 0 && !want[n] {
			continue
		}
		file := filepath.Join(p.Src.Dir, "populate.lua")
		if _, err := os.Stat(file); err != nil {
			continue
		}
		if err := p.Gen.Populate(ctx, file); err != nil {
			return ran, err
		}
		log.Info("populated", "plugin", n)
		ran = append(ran, n)
	}
	return ran, nil
}
