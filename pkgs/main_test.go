package pkgs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Installs run git and the engine's loader: neither may leave goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}
