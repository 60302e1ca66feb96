// Package plugindb gives each plugin its own PostgreSQL schema and role and
// applies its dbmate migrations (Migrator). It knows plugins only by name and
// directory; it imports no engine package but engine/errs.
package plugindb

import "regexp"

// PluginName is the rule for plugin names (a manifest's name, a directory
// under plugins/): it makes them safe as schema and role names.
var PluginName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// EventsChannel is the NOTIFY channel of published events: the engine's
// outbox listens on it, and plugin roles may notify it.
const EventsChannel = "vbwd_events"
