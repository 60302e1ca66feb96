package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	stamped := &debug.BuildInfo{
		Main: debug.Module{Version: "v0.0.0-20261128094346-74ce92bbea89"},
		Deps: []*debug.Module{{Path: "github.com/yuin/gopher-lua", Version: "v1.1.2"}},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "74ce92bbea89bc8b0b9f50bf0e053bfaa4d14e26"},
			{Key: "vcs.time", Value: "2026-11-28T09:43:46Z"}, {Key: "vcs.modified", Value: "true"}},
	}
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		ver, rev string
		want     []string
	}{
		{"plain go build", stamped, "", "", []string{"vbwd v0.0.0-20261128094346-74ce92bbea89 (74ce92bbea89bc8b0b9f50bf0e053bfaa4d14e26, 2026-11-28T09:43:46Z, modified,", "gopher-lua v1.1.2"}},
		{"link-time values win", stamped, "v1.2.0", "abc123", []string{"vbwd v1.2.0 (abc123, 2026-11-28T09:43:46Z, modified,"}},
		{"no VCS (go test, -buildvcs=false)", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "", "", []string{"vbwd dev (unknown revision, go", "gopher-lua unknown"}},
		{"no build info", nil, "", "", []string{"vbwd dev (unknown revision,"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := versionLine(tc.bi, tc.ver, tc.rev)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}
