package console_test

import (
	"testing"

	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
)

var pg *testpg.Server

// The browser test drives an engine on a real database; testpg.Main also
// checks with goleak that nothing outlives the tests.
func TestMain(m *testing.M) { testpg.Main(m, &pg) }
