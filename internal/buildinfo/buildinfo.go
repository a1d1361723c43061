// Package buildinfo says which build of vilt-vk is running: the module version, the VCS
// revision it was built from and the Go version, read from the build information the Go
// toolchain embeds in every binary. `vilt version` prints it; the server exports it as a
// metric and a response header, so a bug report or a dashboard can name the exact build.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Unknown stands for a field the build did not record.
const Unknown = "unknown"

// Info describes the running binary.
type Info struct {
	Module string `json:"module"`
	// Version is the main module's version: a tag, or the pseudo-version `go build` derives
	// from the VCS (v0.0.0-TIME-REV, "+dirty" when the tree had changes), or "(devel)".
	Version string `json:"version"`
	// Revision is the VCS commit; Unknown when the build recorded none (`go test`, `go run`,
	// -buildvcs=false, a source tree without its .git).
	Revision string `json:"revision"`
	// Time is the commit time (RFC 3339), when recorded.
	Time string `json:"time,omitempty"`
	// Modified: the work tree had uncommitted changes at build time.
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"` // GOOS/GOARCH
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	return fromBuildInfo(bi, ok)
}

func fromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	in := Info{Version: "(devel)", Revision: Unknown, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok || bi == nil {
		return in
	}
	in.Module = bi.Main.Path
	if v := bi.Main.Version; v != "" {
		in.Version = v
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// Product is the version as an HTTP product token ("vilt/VERSION", RFC 9110 §10.2.4):
// "(devel)" becomes "devel", since parentheses are not allowed there.
func (in Info) Product() string {
	v := strings.Trim(in.Version, "()")
	if v == "" {
		v = "devel"
	}
	return "vilt/" + v
}
