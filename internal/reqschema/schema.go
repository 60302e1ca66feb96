// Package reqschema validates HTTP requests against the JSON Schemas a
// route declares (route options body = ... and query = ...), and shapes the
// 422 answer: {"error": "invalid request", "fields": [{"pointer", "message",
// "in"}]}. It knows nothing of Lua or the router: the engine converts a
// schema written as a Lua table to Go values, or names a file under the
// plugin's schemas/ directory, and calls Validate before the handler runs.
//
// Schemas are JSON Schema 2020-12 (the draft of admin-config.json), with
// "format" asserted (a "date" or "email" that does not match is an error,
// not an annotation). A "$ref" may name another file of the same schemas/
// directory; nothing outside it is ever read.
package reqschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxFields bounds the fields of one 422 answer.
const MaxFields = 20

// SchemasDir is the directory of a plugin whose files a route may name.
const SchemasDir = "schemas"

// Field is one entry of a 422 answer's "fields".
type Field struct {
	Pointer string `json:"pointer"` // JSON Pointer (RFC 6901) into the body or the query object; "" is the whole
	Message string `json:"message"`
	In      string `json:"in,omitempty"` // "body" or "query"
}

// Schema is a compiled request schema.
type Schema struct {
	doc map[string]any
	sch *jsonschema.Schema
}

// Doc is the schema document as declared (for OpenAPI). Callers must not
// modify it.
func (s *Schema) Doc() map[string]any { return s.doc }

// Compile compiles doc. dir is the plugin's directory, from which "$ref"s
// may load files under schemas/; name identifies the schema in errors and
// in its URL (e.g. "GET /bookings body").
func Compile(doc map[string]any, dir, name string) (*Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	base := filepath.Join(dir, SchemasDir)
	c.UseLoader(dirLoader{dir: base})
	// The URL is inside schemas/ so that a relative "$ref" resolves there.
	u := "file://" + filepath.ToSlash(filepath.Join(base, "route-"+sanitize(name)+".json"))
	if err := c.AddResource(u, roundTrip(doc)); err != nil {
		return nil, fmt.Errorf("bad schema: %v", err)
	}
	sch, err := c.Compile(u)
	if err != nil {
		return nil, fmt.Errorf("bad schema: %v", err)
	}
	return &Schema{doc: doc, sch: sch}, nil
}

// LoadFile reads the schema file rel (e.g. "schemas/booking.json") of the
// plugin in dir. It must lie under schemas/ and be a regular file.
func LoadFile(dir, rel string) (map[string]any, error) {
	clean := path.Clean(rel)
	if path.IsAbs(clean) || !strings.HasPrefix(clean, SchemasDir+"/") || strings.Contains(clean, "..") {
		return nil, fmt.Errorf("schema file %q must be a path under the plugin's %s/ directory, e.g. %q", rel, SchemasDir, SchemasDir+"/booking.json")
	}
	v, err := readRegular(filepath.Join(dir, filepath.FromSlash(clean)))
	if err != nil {
		return nil, fmt.Errorf("schema file %s: %w", clean, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema file %s: a schema must be a JSON object", clean)
	}
	return m, nil
}

// readRegular decodes a JSON file that must be a regular file (no symlink
// out of the plugin).
func readRegular(file string) (any, error) {
	fi, err := os.Lstat(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("no such file")
		}
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file (schema files may not be symlinks)")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("bad JSON: %v", err)
	}
	return v, nil
}

// dirLoader loads "$ref"ed files from one directory only.
type dirLoader struct{ dir string }

func (l dirLoader) Load(u string) (any, error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "file" {
		return nil, fmt.Errorf("$ref %s: only files of the plugin's %s/ directory can be referenced", u, SchemasDir)
	}
	file := filepath.FromSlash(p.Path)
	rel, err := filepath.Rel(l.dir, file)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("$ref %s: only files of the plugin's %s/ directory can be referenced", u, SchemasDir)
	}
	v, err := readRegular(file)
	if err != nil {
		return nil, fmt.Errorf("$ref %s/%s: %w", SchemasDir, filepath.ToSlash(rel), err)
	}
	return v, nil
}

// roundTrip gives doc JSON types throughout (json.Number for numbers), as
// the compiler expects.
func roundTrip(doc map[string]any) any {
	b, err := json.Marshal(doc)
	if err != nil {
		return doc
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return doc
	}
	return v
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

var printer = message.NewPrinter(language.English)

// ValidateBody validates a request body. An empty or malformed body is one
// field with pointer "".
func (s *Schema) ValidateBody(body []byte) []Field {
	if len(bytes.TrimSpace(body)) == 0 {
		return []Field{{Pointer: "", Message: "a JSON body is required", In: "body"}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []Field{{Pointer: "", Message: "the body is not valid JSON: " + err.Error(), In: "body"}}
	}
	return s.validate(inst, "body")
}

// ValidateQuery validates query parameters as an object: each value is
// converted to the type its property declares (integer, number, boolean;
// an array property takes every value of a repeated parameter), so that
// "?limit=10" satisfies {"type": "integer"}. A value that does not convert
// stays a string and fails its type.
func (s *Schema) ValidateQuery(q url.Values) []Field {
	return s.validate(QueryObject(s.doc, q), "query")
}

func (s *Schema) validate(inst any, in string) []Field {
	err := s.sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Field{{Pointer: "", Message: err.Error(), In: in}}
	}
	var out []Field
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		ptr := pointer(e.InstanceLocation)
		if r, ok := e.ErrorKind.(*kind.Required); ok { // point at the missing property itself
			for _, m := range r.Missing {
				out = append(out, Field{Pointer: ptr + "/" + escape(m), Message: "is required", In: in})
			}
			return
		}
		out = append(out, Field{Pointer: ptr, Message: e.ErrorKind.LocalizedString(printer), In: in})
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	if len(out) > MaxFields {
		out = out[:MaxFields]
	}
	return out
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, s := range loc {
		b.WriteByte('/')
		b.WriteString(escape(s))
	}
	return b.String()
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
