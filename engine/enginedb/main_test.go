package enginedb_test

import (
	"testing"

	"github.com/vbwd-platform/vbwd-engine/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }
