package pkgs

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/vbwd-platform/vbwd-engine/engine"
)

// EngineInspector reads plugins with the engine's own loader (engine.New
// and Load, no database): a manifest is valid for pkgs exactly when the
// engine would load it, and Info.Hash is the hash the engine reports.
func EngineInspector(ctx context.Context, root string) (map[string]Info, error) {
	eng, err := engine.New(engine.Options{Root: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	if err := eng.Load(ctx); err != nil {
		return nil, err
	}
	out := map[string]Info{}
	for _, st := range eng.Plugins() {
		i := Info{Name: st.Name, Version: st.Version, Description: st.Description, Dependencies: st.Dependencies, Hash: st.Hash}
		if st.Error != "" {
			i.Err = errors.New(st.Error)
		}
		out[st.Name] = i
	}
	return out, nil
}
