package engine

import (
	"strings"
	"testing"
)

const mailerSrc = `
local config
function P.initialize(cfg) config = cfg end
function P.routes(r)
  r:get("/password", function() return 200, { password = config.smtp.password, host = config.smtp.host, kind = type(config.smtp.password) } end)
end`

// A root config.json value {"$env": "NAME"} is read from the environment
// at load: the plugin gets the value, the admin API shows the reference.
func TestSecrets_FromEnvironment(t *testing.T) {
	t.Setenv("VBWD_TEST_SMTP_PASSWORD", "hunter2")
	root := writeRoot(t, files{
		"config.json":                      `{"mailer": {"smtp": {"password": {"$env": "VBWD_TEST_SMTP_PASSWORD"}}}}`,
		"plugins/mailer/init.lua":          pluginSrc("mailer", "", mailerSrc),
		"plugins/mailer/config.json":       `{"smtp": {"host": "mail.example.com", "password": ""}}`,
		"plugins/mailer/admin-config.json": `{"type": "object", "properties": {"smtp": {"type": "object", "properties": {"password": {"type": "string", "minLength": 1}}}}}`,
	})
	te := startEngine(t, root, func(o *Options) { o.AdminToken = adminToken })
	r := te.do(t, "GET", "/api/mailer/password", "")
	if r.status != 200 || r.json["password"] != "hunter2" || r.json["kind"] != "string" || r.json["host"] != "mail.example.com" {
		t.Fatalf("the plugin's config: %d %s", r.status, r.body)
	}
	r = te.admin(t, "GET", "/admin/plugins/mailer/config", "")
	if r.status != 200 || strings.Contains(r.body, "hunter2") || !strings.Contains(r.body, `"password":{"$env":"VBWD_TEST_SMTP_PASSWORD"}`) {
		t.Errorf("the admin API: %d %s", r.status, r.body)
	}
	if strings.Contains(te.logs.String(), "hunter2") {
		t.Errorf("the secret is in the log:\n%s", te.logs.String())
	}
}

// A missing variable fails the plugin with an error naming the plugin, the
// key and the variable; a reference in the plugin's own config.json is
// refused; an empty value still meets the schema's checks.
func TestSecrets_Errors(t *testing.T) {
	for name, c := range map[string]struct{ root, own, schema, want string }{
		"missing": {`{"mailer": {"smtp": {"password": {"$env": "VBWD_TEST_NOT_SET"}}}}`, `{}`, "",
			"plugin mailer: config.json: config: config key /smtp/password: environment variable VBWD_TEST_NOT_SET is not set"},
		"in the plugin's own config": {`{}`, `{"smtp": {"password": {"$env": "DATABASE_URL"}}}`, "",
			"config key /smtp/password: {\"$env\": ...} references are only read from the root config.json"},
		"schema sees the value": {`{"mailer": {"smtp": {"password": {"$env": "VBWD_TEST_EMPTY"}}}}`, `{}`,
			`{"type": "object", "properties": {"smtp": {"type": "object", "properties": {"password": {"type": "string", "minLength": 1}}}}}`,
			"/smtp/password"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("VBWD_TEST_EMPTY", "")
			fs := files{"config.json": c.root, "plugins/mailer/init.lua": pluginSrc("mailer", "", mailerSrc), "plugins/mailer/config.json": c.own}
			if c.schema != "" {
				fs["plugins/mailer/admin-config.json"] = c.schema
			}
			te := startEngine(t, writeRoot(t, fs), nil)
			st, _ := te.Plugin("mailer")
			if st.State != StateFailed || !strings.Contains(st.Error, c.want) {
				t.Errorf("state %s, error %q; want %q", st.State, st.Error, c.want)
			}
		})
	}
}
