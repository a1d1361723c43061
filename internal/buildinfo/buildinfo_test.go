package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "a68c80d9a1b2c3d4e5f60718293a4b5c6d7e8f90"},
		{Key: "vcs.time", Value: "2026-12-02T13:45:50Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		ok       bool
		version  string
		revision string
		modified bool
		product  string
	}{
		{"no build info", nil, false, "(devel)", Unknown, false, "vilt/devel"},
		{"go test (no vcs)", &debug.BuildInfo{Main: debug.Module{Path: "m", Version: "(devel)"}}, true, "(devel)", Unknown, false, "vilt/devel"},
		{"go build in a dirty checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "m", Version: "v0.0.0-20261202134550-a68c80d9a1b2+dirty"}, Settings: vcs}, true,
			"v0.0.0-20261202134550-a68c80d9a1b2+dirty", "a68c80d9a1b2c3d4e5f60718293a4b5c6d7e8f90", true, "vilt/v0.0.0-20261202134550-a68c80d9a1b2+dirty"},
		{"tagged", &debug.BuildInfo{Main: debug.Module{Path: "m", Version: "v1.2.3"}, Settings: vcs[:3]}, true, "v1.2.3", vcs[1].Value, false, "vilt/v1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fromBuildInfo(tc.bi, tc.ok)
			if in.Version != tc.version || in.Revision != tc.revision || in.Modified != tc.modified || in.Product() != tc.product {
				t.Errorf("got %+v (product %s)", in, in.Product())
			}
			if in.GoVersion == "" || in.Platform == "" {
				t.Errorf("no Go version or platform: %+v", in)
			}
		})
	}
}
