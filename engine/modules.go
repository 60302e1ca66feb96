package engine

import (
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/relay"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vcrypto "github.com/vbwd-platform/vbwd-engine/stdlib/crypto"
	vdb "github.com/vbwd-platform/vbwd-engine/stdlib/db"
	vjson "github.com/vbwd-platform/vbwd-engine/stdlib/json"
	vlog "github.com/vbwd-platform/vbwd-engine/stdlib/log"
	vperm "github.com/vbwd-platform/vbwd-engine/stdlib/permissions"
	vshared "github.com/vbwd-platform/vbwd-engine/stdlib/shared"
	vstream "github.com/vbwd-platform/vbwd-engine/stdlib/stream"
	vstrings "github.com/vbwd-platform/vbwd-engine/stdlib/strings"
	vtime "github.com/vbwd-platform/vbwd-engine/stdlib/time"
)

type sharedStore = *vshared.Store

func newSharedStore(clock func() time.Time) sharedStore { return vshared.NewStore(clock) }

// DefaultModules is the host module set of this engine: vbwd.json, log,
// time, crypto, shared, db, permissions, events, di, stream, http, strings and auth. Each factory binds a module to one plugin
// generation (the log is tagged with the plugin and generation; shared
// values live in the plugin's own bucket, kept across generations).
func (e *Engine) DefaultModules() []hostapi.Factory {
	return []hostapi.Factory{
		func(hostapi.Plugin) hostapi.Module { return vjson.New() },
		func(p hostapi.Plugin) hostapi.Module { return vlog.New(p.Logger) },
		func(hostapi.Plugin) hostapi.Module { return vtime.New(e.opts.Clock) },
		func(hostapi.Plugin) hostapi.Module { return vcrypto.New() },
		func(p hostapi.Plugin) hostapi.Module { return vshared.New(e.shared.Bucket(p.Name)) },
		func(p hostapi.Plugin) hostapi.Module { return vdb.New(nil, e.build.DBOptions(p.Name)) },
		e.eventsModule,
		e.diModule, // di: vbwd.di, services.go
		func(hostapi.Plugin) hostapi.Module { return vperm.New(permChecker{e}) },
		func(p hostapi.Plugin) hostapi.Module { return vstream.New(relay.Publisher{R: e.relay}, p.Name) },
		e.httpModule, // http: vbwd.http, engine/egress
		func(hostapi.Plugin) hostapi.Module { return vstrings.New() },
		e.authModule, // auth: vbwd.auth, engine/identity
	}
}

// SharedBucket gives Go code (tests, embedding programs) the vbwd.shared
// bucket of a plugin.
func (e *Engine) SharedBucket(plugin string) *vshared.Bucket { return e.shared.Bucket(plugin) }
