package stubgen

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// GenerateHostModulesDoc returns docs/host-modules.md: every name of every
// module, grouped per module in name order, each with its signature and
// description, from the same Docs as the stubs.
func GenerateHostModulesDoc(mods map[string]hostapi.Documented) []byte {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("# Host modules\n\n")
	fmt.Fprintf(&b, "<!-- %s from the host modules' Docs. DO NOT EDIT. -->\n", GeneratedMarker)
	b.WriteString("<!-- Regenerate with: go test ./internal/stubgen -update -->\n\n")
	b.WriteString(docIntro)
	b.WriteString("| module | names |\n| --- | --- |\n")
	for _, n := range names {
		var list []string
		for _, e := range mods[n].Docs() {
			list = append(list, "`"+e.Name+"`")
		}
		fmt.Fprintf(&b, "| [vbwd.%s](#vbwd%s) | %s |\n", n, n, strings.Join(list, ", "))
	}
	for _, n := range names {
		writeModuleDoc(&b, n, mods[n].Docs())
	}
	return b.Bytes()
}

const docIntro = "A plugin loads a host module with `require(\"vbwd.<name>\")`; each plugin generation gets its own\n" +
	"instance (its log is tagged with the plugin, its `vbwd.shared` bucket is its own). Bad arguments\n" +
	"raise an error; failures at run time return `nil, err` (for `vbwd.db`, err is a table with\n" +
	"`message`, `code` and PostgreSQL's details; elsewhere a string).\n\n" +
	"Signatures use LuaLS notation: `name?: T` is an optional parameter, `T?` a result that may be nil,\n" +
	"`...` any number of values. The same entries generate the editor stubs in `stdlib/types/`\n" +
	"(LuaLS reads them through the `.luarc.json` of the engine root and of every scaffolded plugin).\n\n"

func writeModuleDoc(b *bytes.Buffer, name string, docs []hostapi.Export) {
	local := luaLocal(name)
	fmt.Fprintf(b, "\n## vbwd.%s\n\n", name)
	fmt.Fprintf(b, "```lua\nlocal %s = require(\"vbwd.%s\")\n```\n\n", local, name)
	b.WriteString("| name | description |\n| --- | --- |\n")
	for _, e := range docs {
		fmt.Fprintf(b, "| `%s.%s` | %s |\n", local, cell(e.Sig), cell(e.Doc))
	}
}

// cell escapes a table cell: | separates cells even inside backticks.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
