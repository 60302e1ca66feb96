// Package envref resolves secrets in plugin config: a value written
// {"$env": "NAME"} in the root config.json is replaced at load by the
// environment variable NAME, so passwords and API keys need not live in a
// file. The resolved value is a Secret: Lua code gets the plain string
// (through Reveal), while JSON encoding (the admin API, logs of config)
// gives the reference back, {"$env": "NAME"}, and fmt prints "***".
//
// Only the root config.json (the operator's) may reference the
// environment: a reference in a plugin's own config.json defaults is
// refused, since it would let any plugin read the engine's environment
// (its database password among it).
package envref

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Key is the one key of a reference object.
const Key = "$env"

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Secret is a config value read from the environment.
type Secret struct {
	Env   string // the variable's name
	value string
}

// Reveal returns the value, for the plugin's Lua code.
func (s Secret) Reveal() string { return s.value }

// String hides the value from fmt and slog.
func (s Secret) String() string { return "***" }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return `envref.Secret{Env: ` + strconv.Quote(s.Env) + `}` }

// MarshalJSON gives the reference, never the value.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{Key: s.Env})
}

// Error is a reference that cannot be resolved.
type Error struct {
	Pointer string // JSON Pointer of the config key, e.g. "/smtp/password"
	Msg     string
}

func (e *Error) Error() string { return fmt.Sprintf("config key %s: %s", e.Pointer, e.Msg) }

// ref reports whether v is a reference object and returns its name.
func ref(v any) (name string, isRef bool, err error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false, nil
	}
	raw, ok := m[Key]
	if !ok {
		return "", false, nil
	}
	name, ok = raw.(string)
	switch {
	case len(m) != 1:
		return "", true, fmt.Errorf(`a {"%s": "NAME"} reference must have no other keys`, Key)
	case !ok || !nameRE.MatchString(name):
		return "", true, fmt.Errorf(`"%s" must name an environment variable (letters, digits and _), got %v`, Key, raw)
	}
	return name, true, nil
}

// Resolve returns a copy of cfg with every reference replaced by a Secret
// holding the variable's value (lookup is os.LookupEnv outside tests). A
// variable that is not set is an error naming the key and the variable; an
// empty one is a value like any other.
func Resolve(cfg map[string]any, lookup func(string) (string, bool)) (map[string]any, error) {
	out, err := resolve(cfg, "", lookup)
	if err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	return m, nil
}

func resolve(v any, ptr string, lookup func(string) (string, bool)) (any, error) {
	name, isRef, err := ref(v)
	if err != nil {
		return nil, &Error{Pointer: ptr, Msg: err.Error()}
	}
	if isRef {
		val, ok := lookup(name)
		if !ok {
			return nil, &Error{Pointer: ptr, Msg: "environment variable " + name + " is not set"}
		}
		return Secret{Env: name, value: val}, nil
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			r, err := resolve(x[k], ptr+"/"+escape(k), lookup)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolve(e, ptr+"/"+strconv.Itoa(i), lookup)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// Refuse returns an error naming the first reference in cfg: for config
// that may not read the environment (a plugin's own config.json).
func Refuse(cfg map[string]any) error {
	return refuse(cfg, "")
}

func refuse(v any, ptr string) error {
	if _, isRef, _ := ref(v); isRef {
		return &Error{Pointer: ptr, Msg: fmt.Sprintf(`{"%s": ...} references are only read from the root config.json (the operator's), not from a plugin's own config.json`, Key)}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if err := refuse(x[k], ptr+"/"+escape(k)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := refuse(e, ptr+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Plain returns a copy of cfg with every Secret replaced by its value, for
// validation against the plugin's schema.
func Plain(cfg map[string]any) map[string]any {
	m, _ := plain(cfg).(map[string]any)
	return m
}

func plain(v any) any {
	switch x := v.(type) {
	case Secret:
		return x.value
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
