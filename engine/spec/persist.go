package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data: written to a temp file in the
// same directory, synced, renamed over path, directory synced. A reader
// sees the old file or the new one, never a mix; a crash loses nothing.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// readJSONObject reads a JSON object file keeping every field; a missing
// file is an empty object.
func ReadJSONObject(file, rel string) (map[string]any, error) {
	obj := map[string]any{}
	err := ReadJSONFile(file, rel, &obj)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, nil
	}
	return obj, err
}

func writeJSONObject(file string, obj map[string]any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return err
	}
	return WriteFileAtomic(file, buf.Bytes(), 0o644)
}

// persistEnabled sets plugins.json's plugins.<name>.enabled, keeping every
// other field (version pins, installedAt, source...) as it was. Without a
// plugins.json (a fresh install, where every plugin is enabled) the file is
// created listing the plugins in seed as enabled, so writing one choice does
// not switch the others off.
func PersistEnabled(root, name string, enabled bool, seed []string) error {
	file := filepath.Join(root, "plugins.json")
	_, statErr := os.Stat(file)
	obj, err := ReadJSONObject(file, "plugins.json")
	if err != nil {
		return err
	}
	plugins, _ := obj["plugins"].(map[string]any)
	if plugins == nil {
		plugins = map[string]any{}
		obj["plugins"] = plugins
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		for _, n := range seed {
			plugins[n] = map[string]any{"enabled": true}
		}
	}
	entry, _ := plugins[name].(map[string]any)
	if entry == nil {
		entry = map[string]any{}
		plugins[name] = entry
	}
	entry["enabled"] = enabled
	if err := writeJSONObject(file, obj); err != nil {
		return fmt.Errorf("writing plugins.json: %w", err)
	}
	return nil
}

// persistConfig sets the root config.json's entry for a plugin.
func PersistConfig(root, name string, cfg map[string]any) error {
	file := filepath.Join(root, "config.json")
	obj, err := ReadJSONObject(file, "config.json")
	if err != nil {
		return err
	}
	obj[name] = cfg
	if err := writeJSONObject(file, obj); err != nil {
		return fmt.Errorf("writing config.json: %w", err)
	}
	return nil
}
