// Package oascheck validates a document against the official OpenAPI 3.1
// JSON Schema (with schema-base, so schema objects are checked against the
// OAS dialect too). Tests import it; the engine binary does not.
package oascheck

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed testdata/oas3.1/*.json testdata/oas3.1/*/*.json
var schemas embed.FS

const baseID = "https://spec.openapis.org/oas/3.1/schema-base/2021-04-15"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	files := map[string]string{
		"https://spec.openapis.org/oas/3.1/schema/2021-04-15": "testdata/oas3.1/schema.json",
		baseID: "testdata/oas3.1/schema-base.json",
		"https://spec.openapis.org/oas/3.1/dialect/base": "testdata/oas3.1/dialect/base.schema.json",
		"https://spec.openapis.org/oas/3.1/meta/base":    "testdata/oas3.1/meta/base.schema.json",
	}
	for id, f := range files {
		b, err := schemas.ReadFile(f)
		if err != nil {
			return nil, err
		}
		// The 2021-04-15 schema-base misspells "$ref" as "$ref\"" (fixed
		// upstream in the 2022-10-07 release), which silently turns off
		// the checking of schema objects against the OAS dialect.
		b = bytes.Replace(b, []byte(`"$ref\"":`), []byte(`"$ref":`), 1)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
	}
	return c.Compile(baseID)
})

// Validate checks an OpenAPI document (JSON bytes) against the 3.1 schema.
func Validate(doc []byte) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("compiling the OpenAPI 3.1 schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
