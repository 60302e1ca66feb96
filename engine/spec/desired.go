package spec

import (
	"os"
	"path/filepath"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
)

// What the operator wants of a plugin, read from disk for SetConfig and
// Rescan (engine/admin_ops.go).

// PluginDirs lists the plugins on disk under root: the directories of
// plugins/ holding an init.lua.
func PluginDirs(root string) (map[string]bool, error) {
	onDisk := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(root, "plugins"))
	if err != nil {
		return nil, err
	}
	for _, ent := range entries {
		if _, err := os.Stat(filepath.Join(root, "plugins", ent.Name(), "init.lua")); ent.IsDir() && err == nil {
			onDisk[ent.Name()] = true
		}
	}
	return onDisk, nil
}

// MergedConfig merges an override into the plugin's defaults and validates
// the merge against its admin-config.json.
func MergedConfig(src *luavm.Source, override map[string]any) (map[string]any, error) {
	defaults, err := PluginConfig(src, nil)
	if err != nil {
		// the defaults alone may violate the schema; validate the merge below
		defaults = map[string]any{}
		if d, rerr := ReadJSONObject(filepath.Join(src.Dir, "config.json"), src.RelDir+"/config.json"); rerr == nil {
			defaults = d
		}
	}
	merged := MergeConfig(defaults, override)
	if err := ValidateConfig(src, merged); err != nil {
		return nil, err
	}
	return merged, nil
}
