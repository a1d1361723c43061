package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		vulkan string
	}{
		{"command", nil, []string{"version"}, "Vulkan: loader "},
		{"flag", nil, []string{"--version"}, "Vulkan: loader "},
		{"no loader", []string{"VILT_VULKAN_LIBRARY=/nonexistent/libvulkan.so.1"}, []string{"version"}, "Vulkan: not found (cannot load Vulkan loader /nonexistent/libvulkan.so.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runVilt(t, tc.env, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, want := range []string{"vilt ", "module    github.com/vilt-vk/vilt-vk", "revision  ", runtime.Version(), tc.vulkan} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	out, errOut, code := runVilt(t, nil, "version", "--json")
	var rep versionReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("exit %d, not JSON:\n%s\n%s", code, out, errOut)
	}
	if len(rep.Vulkan.Devices) == 0 || rep.Vulkan.APIVersion == "" || rep.Vulkan.Devices[0].DriverName == "" {
		t.Errorf("no Vulkan loader or driver reported: %+v", rep.Vulkan)
	}
}

// TestVersionReportsRevision builds vilt as a user does (go build in a checkout) and checks
// that `vilt version` names the commit it was built from.
func TestVersionReportsRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("not a git checkout (git %s: %v)", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	root := git(".", "rev-parse", "--show-toplevel")
	head := git(root, "rev-parse", "HEAD")
	bin := filepath.Join(t.TempDir(), "vilt")
	// -buildvcs=auto overrides a GOFLAGS=-buildvcs=false in the environment or go env.
	args := []string{"build", "-buildvcs=auto", "-o", bin}
	src := root
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		// The go command stamps VCS information only where .git is a directory, not in a
		// git worktree (.git is a file there): build a clone of HEAD instead, with -trimpath
		// so the build cache serves it although the clone's path is new.
		src = filepath.Join(t.TempDir(), "src")
		git(root, "clone", "-q", "--shared", root, src)
		args = append(args, "-trimpath")
	}
	dirtyBefore := git(src, "status", "--porcelain") != ""
	build := exec.Command("go", append(args, "./cmd/vilt")...)
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dirtyAfter := git(src, "status", "--porcelain") != ""

	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("vilt version --json: %v", err)
	}
	var rep versionReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Revision != head {
		t.Errorf("revision %q, want HEAD %s", rep.Revision, head)
	}
	if !strings.Contains(rep.Version, head[:12]) {
		t.Errorf("version %q does not name HEAD %s", rep.Version, head[:12])
	}
	// Other tests may write into the tree meanwhile: judge the dirty flag only when git said
	// the same before and after the build.
	if dirtyBefore == dirtyAfter && rep.Modified != dirtyBefore {
		t.Errorf("modified = %v, git status says %v", rep.Modified, dirtyBefore)
	}
	if rep.Time == "" || rep.GoVersion != runtime.Version() {
		t.Errorf("commit time %q, Go %q (want %s)", rep.Time, rep.GoVersion, runtime.Version())
	}
	text, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.Contains(string(text), "revision  "+head) {
		t.Errorf("vilt --version: %v\n%s", err, text)
	}
}
