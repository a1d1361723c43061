package deploy

import (
	"bufio"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// instruction is one Containerfile instruction (continuation lines joined).
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

// stage is one FROM … up to the next FROM.
type stage struct {
	image, name string
	ins         []instruction
}

func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last is the instruction of the stage that wins (USER, ENTRYPOINT, CMD, HEALTHCHECK).
func (s *stage) last(t *testing.T, cmd string) instruction {
	t.Helper()
	all := s.all(cmd)
	if len(all) == 0 {
		t.Fatalf("the final stage has no %s", cmd)
	}
	return all[len(all)-1]
}

// parseContainerfile reads Dockerfile syntax: comments, line continuations, stages.
func parseContainerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		cont := strings.HasSuffix(l, "\\")
		cur.WriteString(strings.TrimSuffix(l, "\\"))
		cur.WriteString(" ")
		if cont {
			continue
		}
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s:%d: %s before FROM", path, start, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: ends inside a continued line", path)
	}
	return stages
}

// execForm decodes the JSON array form of CMD/ENTRYPOINT (the shell form would run
// through /bin/sh and not receive SIGTERM).
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("line %d: %s %s is not in exec form (a JSON array): %v", in.line, in.cmd, in.args, err)
	}
	return argv
}

// envOf collects the stage's ENV key=value pairs.
func envOf(t *testing.T, s *stage) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range s.all("ENV") {
		for _, kv := range strings.Fields(in.args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("line %d: ENV %s: want KEY=VALUE pairs", in.line, in.args)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// containerImage is what the manifests' tests need from the Containerfile.
type containerImage struct {
	entrypoint, cmd []string
	env             map[string]string
	volumes         []string
	port            string
	uid             string
}

func readImage(t *testing.T) containerImage {
	t.Helper()
	stages := parseContainerfile(t, "../Containerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a Go build stage and a runtime stage", len(stages))
	}
	final := &stages[len(stages)-1]
	img := containerImage{
		entrypoint: execForm(t, final.last(t, "ENTRYPOINT")),
		cmd:        execForm(t, final.last(t, "CMD")),
		env:        envOf(t, final),
	}
	for _, in := range final.all("VOLUME") {
		var v []string
		if err := json.Unmarshal([]byte(in.args), &v); err != nil {
			v = strings.Fields(in.args)
		}
		img.volumes = append(img.volumes, v...)
	}
	exp := final.all("EXPOSE")
	if len(exp) != 1 || len(strings.Fields(exp[0].args)) != 1 {
		t.Fatalf("want one EXPOSEd port, have %v", exp)
	}
	img.port = strings.TrimSuffix(exp[0].args, "/tcp")
	img.uid, _, _ = strings.Cut(final.last(t, "USER").args, ":")
	return img
}

func TestContainerfile(t *testing.T) {
	stages := parseContainerfile(t, "../Containerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a Go build stage and a runtime stage", len(stages))
	}
	build, final := &stages[0], &stages[len(stages)-1]

	// The build stage: Go at least the go.mod version, building ./cmd/vilt.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m := regexp.MustCompile(`^golang:(\d+\.\d+)`).FindStringSubmatch(build.image); m == nil || want == nil || m[1] != string(want[1]) {
		t.Errorf("build stage FROM %s, go.mod wants go %s", build.image, want[1])
	}
	if build.name == "" || !slices.ContainsFunc(build.all("RUN"), func(in instruction) bool {
		return strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/vilt")
	}) {
		t.Errorf("the first stage (%q) does not go build ./cmd/vilt", build.name)
	}

	// The runtime: Debian 12 slim with the Vulkan loader and Mesa (lavapipe), the binary
	// from the build stage on PATH.
	if final.image != "debian:12-slim" && final.image != "debian:bookworm-slim" {
		t.Errorf("runtime FROM %s, want debian:12-slim", final.image)
	}
	installs := strings.Join(func() []string {
		var s []string
		for _, in := range final.all("RUN") {
			s = append(s, in.args)
		}
		return s
	}(), " ")
	for _, pkg := range []string{"libvulkan1", "mesa-vulkan-drivers"} {
		if !regexp.MustCompile(`apt-get install[^&]*\b` + pkg + `\b`).MatchString(installs) {
			t.Errorf("the runtime stage does not install %s", pkg)
		}
	}
	copied := false
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if slices.Contains(f, "--from="+build.name) && f[len(f)-1] == "/usr/local/bin/vilt" {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the runtime stage does not COPY --from=%s ... /usr/local/bin/vilt", build.name)
	}

	img := readImage(t)
	// A numeric non-root user: Kubernetes' runAsNonRoot can only verify a numeric one.
	if img.uid == "" || img.uid == "0" || strings.Trim(img.uid, "0123456789") != "" {
		t.Errorf("USER %q: want a numeric non-root uid", img.uid)
	}
	// Caches on the volume; the NVIDIA toolkit mounts the Vulkan ICD only with graphics.
	for _, k := range []string{"HF_HOME", "VILT_CACHE_DIR"} {
		if !underAny(img.env[k], img.volumes) {
			t.Errorf("%s=%q is not on a VOLUME %v", k, img.env[k], img.volumes)
		}
	}
	caps := strings.Split(img.env["NVIDIA_DRIVER_CAPABILITIES"], ",")
	for _, c := range []string{"compute", "utility", "graphics"} {
		if !slices.Contains(caps, c) {
			t.Errorf("NVIDIA_DRIVER_CAPABILITIES=%q lacks %s", img.env["NVIDIA_DRIVER_CAPABILITIES"], c)
		}
	}

	// The default command: `vilt serve` on all interfaces at the EXPOSEd port, with flags
	// the real serve accepts.
	argv := append(slices.Clone(img.entrypoint), img.cmd...)
	if argv[0] != "vilt" || len(argv) < 2 || argv[1] != "serve" {
		t.Fatalf("default command %q, want vilt serve", argv)
	}
	checkArgv(t, "Containerfile CMD", argv[1:])
	host, port, err := net.SplitHostPort(flagValue(t, argv[1:], "addr"))
	if err != nil || host != "0.0.0.0" || port != img.port {
		t.Errorf("serve --addr %s:%s (%v), want 0.0.0.0:%s (EXPOSE)", host, port, err, img.port)
	}

	// HEALTHCHECK: `vilt healthcheck` (the slim image has no curl) on /healthz, with a
	// probe timeout inside the check's.
	hc := final.last(t, "HEALTHCHECK")
	opts, execArgs, ok := strings.Cut(hc.args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s: no CMD", hc.args)
	}
	hargv := execForm(t, instruction{cmd: "HEALTHCHECK CMD", args: execArgs, line: hc.line})
	if hargv[0] != "vilt" || len(hargv) < 3 || hargv[1] != "healthcheck" {
		t.Fatalf("HEALTHCHECK runs %q, want vilt healthcheck URL", hargv)
	}
	checkArgv(t, "HEALTHCHECK", hargv[1:])
	u, err := url.Parse(hargv[len(hargv)-1])
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() != img.port || u.Path != "/healthz" {
		t.Errorf("HEALTHCHECK URL %q, want http://127.0.0.1:%s/healthz", hargv[len(hargv)-1], img.port)
	}
	probe, err1 := time.ParseDuration(flagValue(t, hargv[1:], "timeout"))
	m := regexp.MustCompile(`--timeout=(\S+)`).FindStringSubmatch(opts)
	if m == nil || err1 != nil {
		t.Fatalf("HEALTHCHECK %s: want --timeout (and a parseable probe timeout: %v)", opts, err1)
	}
	if limit, err := time.ParseDuration(m[1]); err != nil || probe >= limit {
		t.Errorf("vilt healthcheck --timeout %v is not inside HEALTHCHECK --timeout=%s", probe, m[1])
	}
}
