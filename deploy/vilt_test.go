package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// viltBin is the vilt binary built from ../cmd/vilt for this test run.
var viltBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vilt-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	viltBin = filepath.Join(dir, "vilt")
	build := exec.Command(goTool(), "build", "-o", viltBin, "../cmd/vilt")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build vilt: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command that runs this test.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// vilt runs the built binary.
func vilt(args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.Command(viltBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode(), nil
	}
	return o.String(), e.String(), 0, err
}

// checkArgv parses argv (after "vilt") with the real command's flag set: the flags are
// given again with -h appended, which parses all of them and then stops at -h (exit 0);
// an unknown flag or a bad value exits 2. Positional arguments are left out: the flag
// package stops at the first one.
func checkArgv(t *testing.T, where string, argv []string) {
	t.Helper()
	if len(argv) == 0 {
		t.Fatalf("%s: no command", where)
	}
	specs := flagSpecs(t, argv[0])
	flags, _ := splitArgs(t, where, specs, argv[1:])
	_, errOut, code, err := vilt(append(append([]string{argv[0]}, flags...), "-h")...)
	if err != nil || code != 0 {
		t.Errorf("%s: vilt %s does not take %q: exit %d %v\n%s", where, argv[0], flags, code, err, lastLines(errOut, 3))
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// flagSpec is one flag of a vilt command, read from its -h output.
type flagSpec struct {
	takesValue bool
	def        string
}

var (
	specMu    sync.Mutex
	specCache = map[string]map[string]flagSpec{}
	// "  -name VALUE" (the value word only for non-boolean flags), then the usage on the
	// same line after a tab (one-letter names) or on the next lines.
	flagHeader = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9-]*)(?: ([^\t]+?))?(?:\t.*)?$`)
	flagDef    = regexp.MustCompile(`\(default (.+)\)$`)
)

// flagSpecs returns the flags of `vilt cmd` as its -h output lists them.
func flagSpecs(t *testing.T, cmd string) map[string]flagSpec {
	t.Helper()
	specMu.Lock()
	defer specMu.Unlock()
	if s, ok := specCache[cmd]; ok {
		return s
	}
	_, errOut, code, err := vilt(cmd, "-h")
	if err != nil || code != 0 {
		t.Fatalf("vilt %s -h: exit %d %v\n%s", cmd, code, err, errOut)
	}
	specs := map[string]flagSpec{}
	last := ""
	for _, l := range strings.Split(errOut, "\n") {
		if m := flagHeader.FindStringSubmatch(l); m != nil {
			last = m[1]
			specs[last] = flagSpec{takesValue: m[2] != ""}
			l = strings.TrimPrefix(l, "  -"+m[1]+" "+m[2])
		} else if !strings.HasPrefix(l, "    \t") {
			last = ""
		}
		if m := flagDef.FindStringSubmatch(l); m != nil && last != "" {
			s := specs[last]
			s.def = m[1]
			if u, err := strconv.Unquote(s.def); err == nil {
				s.def = u
			}
			specs[last] = s
		}
	}
	if len(specs) == 0 {
		t.Fatalf("vilt %s -h lists no flags:\n%s", cmd, errOut)
	}
	specCache[cmd] = specs
	return specs
}

// splitArgs splits a command's arguments into flags and positional arguments as the flag
// package reads them (flags stop at the first positional argument or "--").
func splitArgs(t *testing.T, where string, specs map[string]flagSpec, args []string) (flags, positional []string) {
	t.Helper()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return flags, args[i:]
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		s, ok := specs[name]
		if !ok {
			t.Errorf("%s: unknown flag %s", where, a)
			continue
		}
		flags = append(flags, a)
		if s.takesValue && !hasValue {
			if i+1 == len(args) {
				t.Errorf("%s: flag %s has no value", where, a)
				return flags, nil
			}
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, nil
}

// flagValue is the value argv gives flag name of `vilt argv[0]`, else the flag's default.
func flagValue(t *testing.T, argv []string, name string) string {
	t.Helper()
	specs := flagSpecs(t, argv[0])
	s, ok := specs[name]
	if !ok {
		t.Fatalf("vilt %s has no flag -%s", argv[0], name)
	}
	flags, _ := splitArgs(t, strings.Join(argv, " "), specs, argv[1:])
	v := s.def
	for i := 0; i < len(flags); i++ {
		n, val, has := strings.Cut(strings.TrimLeft(flags[i], "-"), "=")
		if specs[n].takesValue && !has {
			i++
			val = flags[i]
		}
		if n == name {
			v = val
		}
	}
	return v
}

// TestFlagSpecs: the -h parsing finds serve's flags with their defaults (the other tests
// rely on it).
func TestFlagSpecs(t *testing.T) {
	s := flagSpecs(t, "serve")
	if !s["addr"].takesValue || s["addr"].def != "127.0.0.1:8080" || !s["shutdown-timeout"].takesValue || s["shutdown-timeout"].def == "" ||
		s["json"].takesValue || s["quiet"].takesValue {
		t.Fatalf("serve flags: %+v", s)
	}
	argv := []string{"serve", "--quiet", "--addr=0.0.0.0:1", "-max-batch", "4", "rest"}
	if v := flagValue(t, argv, "addr"); v != "0.0.0.0:1" {
		t.Errorf("addr %q", v)
	}
	if v := flagValue(t, argv, "max-batch"); v != "4" {
		t.Errorf("max-batch %q", v)
	}
	if v := flagValue(t, argv, "shutdown-timeout"); v != s["shutdown-timeout"].def {
		t.Errorf("shutdown-timeout %q", v)
	}
	if d := flagSpecs(t, "download"); d["quiet"].takesValue || d["q"].takesValue || !d["cache-dir"].takesValue {
		t.Errorf("download flags: %+v", d)
	}
	// The -h probe of checkArgv tells bad flags and values from good ones.
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"serve", "--addr", "0.0.0.0:8080", "--shutdown-timeout", "30s", "-h"}, 0},
		{[]string{"serve", "--no-such-flag", "-h"}, 2},
		{[]string{"serve", "--shutdown-timeout", "30", "-h"}, 2},
	} {
		if _, errOut, code, err := vilt(c.args...); err != nil || code != c.code {
			t.Errorf("vilt %q: exit %d %v, want %d\n%s", c.args, code, err, c.code, errOut)
		}
	}
}
