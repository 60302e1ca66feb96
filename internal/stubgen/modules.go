package stubgen

import (
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vauth "github.com/vbwd-platform/vbwd-engine/stdlib/auth"
	vcrypto "github.com/vbwd-platform/vbwd-engine/stdlib/crypto"
	vdb "github.com/vbwd-platform/vbwd-engine/stdlib/db"
	vdi "github.com/vbwd-platform/vbwd-engine/stdlib/di"
	vevents "github.com/vbwd-platform/vbwd-engine/stdlib/events"
	vhttp "github.com/vbwd-platform/vbwd-engine/stdlib/http"
	vjson "github.com/vbwd-platform/vbwd-engine/stdlib/json"
	vlog "github.com/vbwd-platform/vbwd-engine/stdlib/log"
	vperm "github.com/vbwd-platform/vbwd-engine/stdlib/permissions"
	vshared "github.com/vbwd-platform/vbwd-engine/stdlib/shared"
	vstream "github.com/vbwd-platform/vbwd-engine/stdlib/stream"
	vstrings "github.com/vbwd-platform/vbwd-engine/stdlib/strings"
	vtest "github.com/vbwd-platform/vbwd-engine/stdlib/test"
	vtime "github.com/vbwd-platform/vbwd-engine/stdlib/time"
)

// HostModules returns one instance of every host module the engine offers,
// built with nil or zero dependencies: only their Docs are read. Adding a
// host module to the engine means adding its line here (a test compares this
// set with the engine's DefaultModules).
func HostModules() map[string]hostapi.Documented {
	mods := []hostapi.Documented{
		vjson.New(),
		vlog.New(nil),
		vtime.New(nil),
		vcrypto.New(),
		vshared.New(vshared.NewStore(nil).Bucket("x")),
		vdb.New(nil, vdb.Options{}),
		vperm.New(nil),
		vevents.New(nil, vevents.Options{}),
		vdi.New(nil),
		vstream.New(nil, "x"),
		vhttp.New(vhttp.Options{}),
		vstrings.New(),
		vauth.New(nil, "x", nil),
		vtest.New(nil), // only inside `vbwd test`
	}
	out := make(map[string]hostapi.Documented, len(mods))
	for _, m := range mods {
		out[m.Name()] = m
	}
	return out
}
