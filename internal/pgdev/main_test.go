package pgdev_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The cluster supervises postmaster processes from goroutines: every test
// must stop what it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
