package logsink

import (
	"testing"

	"go.uber.org/goleak"
)

// The sink runs a flusher goroutine: every test must stop it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
