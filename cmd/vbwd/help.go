package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
)

// The longer help of every command lives here, keyed by the command's path,
// rather than in each command's definition: the command table stays short,
// and one place says which environment variables each command reads
// (TestHelp_EveryCommandTeaches checks that every command has an entry and
// that every variable the code reads is documented).

// envDoc says what each environment variable the binary reads does.
var envDoc = map[string]string{
	"VBWD_ROOT":                  "engine root: plugins/, plugins.json, config.json (--root; default .)",
	"VBWD_LOG_LEVEL":             "debug, info, warn or error (--log-level; default info)",
	"VBWD_LOG_FORMAT":            "text or json (--log-format; default text)",
	"DATABASE_URL":               "PostgreSQL to use (postgres://user:pass@host:5432/db); unset: the embedded cluster under <root>/.data/postgres",
	"VBWD_PG_BIN":                "directory of the PostgreSQL server binaries for the embedded cluster (default: newest /usr/lib/postgresql/*/bin, else PATH)",
	"PGSSLMODE":                  "TLS mode for DATABASE_URL when the URL sets no sslmode (libpq's variable)",
	"VBWD_DB_ROLE_SECRET":        "derives the plugins' database role passwords (default: the DATABASE_URL password)",
	"VBWD_UNSAFE_SHARED_DB_ROLE": "1: run plugin SQL as the DATABASE_URL user when it may not create roles (UNSAFE)",
	"VBWD_ADDR":                  "listen address of serve; address of the running engine for remote commands (--addr; default 127.0.0.1:8080)",
	"VBWD_ADMIN_TOKEN":           "turns the admin API on (serve); the bearer token remote commands send (--token)",
	"VBWD_JWT_SECRET":            "HS256 secret API tokens are verified (serve) and minted (token) with",
	"VBWD_ISSUER_KEY_FILE":       "the engine's Ed25519 token-signing key (--issuer-key; default <root>/.data/issuer-ed25519.pem, made on first start)",
	"VBWD_NODE_ID":               "this node's name among engines sharing one database (default: host-pid-random)",
	"VBWD_MEMORY_CEILING_MB":     "process memory ceiling in MiB (--memory-ceiling-mb)",
	"GOMEMLIMIT":                 "Go's soft memory limit; the memory ceiling when --memory-ceiling-mb is unset",
	// OpenTelemetry's standard variables (docs/ops.md, Tracing)
	"OTEL_EXPORTER_OTLP_ENDPOINT":        "turns traces on: the OTLP collector (http://host:4318 for http/protobuf, host:4317 for grpc)",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "the OTLP traces endpoint, when it differs from OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf (default) or grpc",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "the protocol for traces, when it differs from OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS":         "headers sent to the collector (key=value,...)",
	"OTEL_TRACES_EXPORTER":               "otlp (traces on, default endpoint) or none (off)",
	"OTEL_SERVICE_NAME":                  "service.name of the spans (default vbwd)",
	"OTEL_RESOURCE_ATTRIBUTES":           "more resource attributes (key=value,...)",
	"OTEL_TRACES_SAMPLER":                "sampler (default parentbased_always_on; e.g. parentbased_traceidratio)",
	"OTEL_TRACES_SAMPLER_ARG":            "the sampler's argument (e.g. 0.1)",
	"OTEL_SDK_DISABLED":                  "true: traces off whatever else is set",
}

var (
	envGlobal = []string{"VBWD_ROOT", "VBWD_LOG_LEVEL", "VBWD_LOG_FORMAT"}
	envDB     = []string{"DATABASE_URL", "VBWD_PG_BIN", "PGSSLMODE", "VBWD_DB_ROLE_SECRET", "VBWD_UNSAFE_SHARED_DB_ROLE"}
	envRemote = []string{"VBWD_ADDR", "VBWD_ADMIN_TOKEN"}
	envServe  = append(append([]string{"VBWD_ADDR", "VBWD_ADMIN_TOKEN", "VBWD_JWT_SECRET", "VBWD_NODE_ID", "VBWD_ISSUER_KEY_FILE",
		"VBWD_MEMORY_CEILING_MB", "GOMEMLIMIT"}, envDB...), envTrace...)
	// envTrace: the OpenTelemetry variables serve reads (docs/ops.md, Tracing).
	envTrace = tracing.Env
)

// helpDoc is a command's longer description, its example and the variables
// it reads besides the global ones.
type helpDoc struct {
	long, example string
	env           []string
}

var helpDocs = map[string]helpDoc{
	"vbwd init": {long: `Make a directory (default --root) an engine root for someone who has only the vbwd binary:
plugins/, an empty plugins.json and config.json, and the LuaLS stubs in .vbwd/types. Files that
exist are kept. Then: vbwd plugin new <name>, vbwd test, vbwd serve.`,
		example: "  vbwd init mysite && cd mysite && vbwd plugin new inventory && vbwd test inventory"},
	"vbwd types": {long: `Write the LuaLS stubs of the plugin API (vbwd.*.lua), embedded in the binary, for editors
and type checkers. The scaffold's .luarc.json points at <root>/.vbwd/types.`,
		example: "  vbwd types\n  vbwd types --dir ~/.vbwd/types"},
	"vbwd openapi": {long: `Print the OpenAPI 3.1 document of what the engine would serve — every enabled plugin's
routes with their parameters, permissions, schemas and summaries, plus the admin API and data
exchange — without serving. It starts the plugins as serve does (database included); a running
engine serves the same document at /openapi.json.`,
		example: "  vbwd openapi > openapi.json", env: envDB},
	"vbwd plugin install": {long: `Install a plugin from a git repository (URL or path, @tag or @commit, #subdir), a .tar.gz
archive (URL or path) or the configured indexes (by name), with the dependencies
it lacks; write plugins/<name> and plugins.lock. Without an argument, reproduce plugins.lock on
this machine. A failure leaves plugins/ as it was. With --remote, a running engine installs it on
every node sharing its database.`,
		example: "  vbwd plugin install https://git.example.com/acme/blog.git@v1.2.0 --enable\n" +
			"  vbwd plugin install blog   # the newest version in the indexes\n  vbwd plugin install        # reproduce plugins.lock",
		env: envRemote},
	"vbwd plugin update": {long: `Move installed plugins (all, or those named) to the newest versions every installed
dependent's range allows; a version held back is reported. A failure leaves plugins/ as it was.`,
		example: "  vbwd plugin update\n  vbwd plugin update blog --remote", env: envRemote},
	"vbwd plugin remove": {long: `Remove an installed plugin and its plugins.lock entry; refused while installed plugins
depend on it.`, example: "  vbwd plugin remove blog", env: envRemote},
	"vbwd plugin verify": {long: `Compare plugins/ with plugins.lock: each plugin ok, modified, missing or local (not locked).
Fails when a locked plugin is modified or missing.`, example: "  vbwd plugin verify"},
	"vbwd plugin search": {long: `Search the indexes configured in config.json ("vbwd": {"packages": {"indexes": [...]}})
by name or description.`, example: "  vbwd plugin search blog"},
	"vbwd plugin pack": {long: `Write a plugin's reproducible .tar.gz archive and its entry in <out>/index.json, optionally
signed with an Ed25519 key: a static file server then is a plugin index (docs/publishing.md).`,
		example: "  vbwd plugin pack blog --out dist --sign-key vbwd-sign.key"},
	"vbwd plugin keygen": {long: `Make an Ed25519 key pair for signing plugin archives; the public key goes into the
trusted_keys of the sites that install them.`, example: "  vbwd plugin keygen --out vbwd-sign.key"},
	"vbwd": {long: `vbwd discovers the Lua plugins under <root>/plugins, orders them by their dependencies and
serves their routes over HTTP. Every command takes --root (the directory holding plugins/,
plugins.json and config.json).`,
		example: "  vbwd serve --root . --addr 127.0.0.1:8080\n  vbwd plugin new inventory\n  vbwd test inventory"},
	"vbwd serve": {long: `Serve the plugins enabled in plugins.json over HTTP until SIGINT or SIGTERM, then drain
in-flight requests and run every plugin's on_disable. Pending migrations are applied before a
plugin starts. Without DATABASE_URL an embedded PostgreSQL cluster is started under
<root>/.data/postgres (needs the server binaries). The admin API (/admin) is on when
VBWD_ADMIN_TOKEN or VBWD_JWT_SECRET is set.`,
		example: "  DATABASE_URL=postgres://vbwd:secret@db:5432/vbwd VBWD_ADMIN_TOKEN=s3cret vbwd serve --addr 0.0.0.0:8080\n" +
			"  vbwd serve --root . --populate --watch   # development: demo data, reload on change",
		env: envServe},
	"vbwd plugin": {long: `Inspect the plugins of a root (list, new) and manage the plugins of a running engine through
its admin API (reload, enable, disable, rescan).`,
		example: "  vbwd plugin list\n  vbwd plugin reload hello --addr 127.0.0.1:8080", env: envRemote},
	"vbwd plugin list": {long: `List the plugins under <root>/plugins as the disk has them: version, whether plugins.json
enables them, dependencies, and why a plugin cannot start (a load error with file:line, a missing
or disabled dependency). It is read-only: it starts no database, applies no migrations and
writes nothing. With --live it asks a running engine (--addr, VBWD_ADMIN_TOKEN) for the state
its plugins are actually in.`,
		example: "  vbwd plugin list --root /srv/vbwd\n  vbwd plugin list --json\n  vbwd plugin list --live --addr 127.0.0.1:8080",
		env:     envRemote},
	"vbwd plugin new": {example: "  vbwd plugin new inventory && vbwd test inventory"},
	"vbwd plugin reload": {long: `Ask a running engine to rebuild a plugin from its files. The new generation is built beside the
old one and swapped in when it starts; on error (answered with file and line) the old generation
keeps serving.`, example: "  VBWD_ADMIN_TOKEN=s3cret vbwd plugin reload hello --addr 127.0.0.1:8080", env: envRemote},
	"vbwd plugin enable": {long: `Ask a running engine to enable a plugin (and record it in plugins.json). Its dependencies must
be enabled.`, example: "  vbwd plugin enable tarot", env: envRemote},
	"vbwd plugin disable": {long: `Ask a running engine to disable a plugin (and record it in plugins.json). Refused while enabled
plugins depend on it, unless --cascade disables them too.`, example: "  vbwd plugin disable subscription --cascade", env: envRemote},
	"vbwd plugin rescan": {long: `Ask a running engine to read plugins/, plugins.json and config.json again: new plugins are
discovered, removed ones stopped, changed ones reloaded.`, example: "  vbwd plugin rescan --addr 10.0.0.5:8080", env: envRemote},
	"vbwd migrate": {long: `Apply, roll back and inspect the plugins' SQL migrations (plugins/<name>/migrations/*.sql,
dbmate format) against DATABASE_URL or the embedded cluster. serve applies pending migrations
itself; these commands are for inspection and for rolling back.`,
		example: "  vbwd migrate status\n  vbwd migrate up notes\n  vbwd migrate new notes add_tags", env: envDB},
	"vbwd migrate status": {long: `Show, per plugin, which migrations are applied ([X]) and which are pending ([ ]).`,
		example: "  vbwd migrate status notes", env: envDB},
	"vbwd migrate up": {long: `Apply the pending migrations of the enabled plugins, or of one plugin and its dependencies,
dependencies first, each plugin as its own database role.`, example: "  vbwd migrate up\n  vbwd migrate up notes", env: envDB},
	"vbwd migrate down": {long: `Run the down section of a plugin's last applied migrations. Refused while an enabled plugin
depends on it.`, example: "  vbwd migrate down notes --steps 2", env: envDB},
	"vbwd migrate new": {long: `Write plugins/<plugin>/migrations/<timestamp>_<name>.sql with empty "-- migrate:up" and
"-- migrate:down" sections. Needs no database.`, example: "  vbwd migrate new notes add_tags"},
	"vbwd populate": {long: `Start the enabled plugins against the database and run each one's populate.lua (demo data),
dependencies first. Running it again changes nothing a previous run wrote.`,
		example: "  vbwd populate\n  vbwd populate subscription tarot", env: envDB},
	"vbwd test": {long: `Run the plugins' tests/*_test.lua with the vbwd.test module, each file in a real engine on a
fresh database (created on DATABASE_URL's server, or on the embedded cluster). Exits 1 when a
test fails, printing file:line.`,
		example: "  vbwd test\n  vbwd test notes --run 'pagination' -v\n  vbwd test --root docs/examples --count 20 webhook", env: envDB},
	"vbwd token": {example: "  VBWD_JWT_SECRET=dev vbwd token --sub alice --roles subscriber --ttl 1h", env: []string{"VBWD_JWT_SECRET"}},
	"vbwd data": {long: `Export and import plugin data through the data exchangers of a running engine's admin API
(/admin/data-exchange).`, example: "  vbwd data export subscription.plans --format csv --out plans.csv", env: envRemote},
	"vbwd data export": {long: `Stream the rows of an exchanger (<plugin>.<name>) as JSON or CSV. Fields marked PII are masked
unless --pii, which needs the <key>.export.pii permission.`,
		example: "  vbwd data export subscription.plans --format csv --out plans.csv", env: envRemote},
	"vbwd data import": {long: `Import rows into an exchanger in one transaction (all or nothing): upsert by natural key, or
replace_all. --dry-run validates every row and reports what would change.`,
		example: "  vbwd data import subscription.plans plans.csv --dry-run", env: envRemote},
	"vbwd version": {long: `Print the vbwd version and VCS revision (from the binary's build info, or set at link time by
make release), and the Go and gopher-lua versions.`, example: "  vbwd version"},
}

// placeholder is a required argument named in a command's Use: <name>.
var placeholder = regexp.MustCompile(`<[^>]+>`)

// teach adds every command's longer help, example and environment, and
// makes a missing argument say which one is missing.
func teach(cmd *cobra.Command) {
	if d, ok := helpDocs[cmd.CommandPath()]; ok {
		long := cmd.Long
		if long == "" {
			long = cmd.Short
			if d.long != "" {
				long = d.long
			}
		}
		cmd.Long = long + "\n\n" + envSection(append(append([]string{}, envGlobal...), d.env...))
		if cmd.Example == "" {
			cmd.Example = d.example
		}
	}
	if cmd.Args != nil {
		cmd.Args = namedArgs(cmd, cmd.Args)
	}
	for _, c := range cmd.Commands() {
		teach(c)
	}
}

// envSection lists the variables, deduplicated, in a help section.
func envSection(keys []string) string {
	seen := map[string]bool{}
	var b strings.Builder
	b.WriteString("Environment:")
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		fmt.Fprintf(&b, "\n  %-*s  %s", width, k, envDoc[k])
	}
	return b.String()
}

// namedArgs wraps an argument check: when arguments are missing, the error
// names them from the command's Use (`vbwd migrate new <plugin> <name>`).
func namedArgs(cmd *cobra.Command, check cobra.PositionalArgs) cobra.PositionalArgs {
	required := placeholder.FindAllString(strings.SplitN(cmd.Use, "[", 2)[0], -1)
	return func(c *cobra.Command, args []string) error {
		err := check(c, args)
		if err == nil {
			return nil
		}
		if len(args) < len(required) {
			missing := required[len(args):]
			noun := "argument"
			if len(missing) > 1 {
				noun = "arguments"
			}
			return fmt.Errorf("missing %s %s (usage: %s; see %s --help)", noun, strings.Join(missing, " "), c.UseLine(), c.CommandPath())
		}
		return fmt.Errorf("%w (usage: %s)", err, c.UseLine())
	}
}

// envKeys is every documented variable, sorted (for tests).
func envKeys() []string {
	keys := make([]string, 0, len(envDoc))
	for k := range envDoc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
