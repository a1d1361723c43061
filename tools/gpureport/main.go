// Command gpureport runs, in one go, what a machine's Vulkan GPU should be measured by: the
// device list, the gpu/graph/vilt tests on that device (validation on), the GEMM and attention
// kernel benchmarks at ViLT shapes, and `vilt bench --synthetic` at batch 1, 8 and 32 in each
// precision the CLI offers. Everything lands in one folder: report.md, report.json and the raw
// logs.
//
//	go run ./tools/gpureport -out gpu-report          (make gpu-report)
//	go run ./tools/gpureport -quick -out DIR          (CI on lavapipe: a few minutes on 2 cores)
//	go run ./tools/gpureport -check DIR               (the folder holds a report that parses)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The files a report folder holds (at most 8).
const (
	fileMD      = "report.md"
	fileJSON    = "report.json"
	fileDevices = "devices.json"
	fileTests   = "tests.log"
	fileKernels = "kernels.log"
	fileBench   = "bench.log"
)

// mode is what a full or a quick report runs.
type mode struct {
	testPkgs    []string
	testTimeout time.Duration
	benchRE     string // go test -bench pattern in ./graph
	benchTime   string
	gemmM       string // VILT_BENCH_GEMM_M ("" = the benchmark's own list)
	kernTimeout time.Duration
	// tilesTimeout bounds the shared-memory tile sweep (BenchmarkGEMMTiles, which runs on
	// GPU-type devices only); 0 skips it.
	tilesTimeout time.Duration
	batches      []int
	runs         int // batch-1 runs of the batch-1 bench
	batchRuns    int
	benchTO      time.Duration // per vilt bench run
}

var (
	fullMode = mode{
		testPkgs: []string{"./gpu/...", "./graph/...", "./vilt/..."}, testTimeout: 3 * time.Minute,
		benchRE: "^Benchmark(GEMM|Attention)$", benchTime: "3x", kernTimeout: 90 * time.Second, tilesTimeout: 2 * time.Minute,
		batches: []int{1, 8, 32}, runs: 20, batchRuns: 3, benchTO: 2 * time.Minute,
	}
	quickMode = mode{
		testPkgs: []string{"./gpu/..."}, testTimeout: 3 * time.Minute,
		benchRE: "^Benchmark(GEMM|Attention)$/^(texel|B1_S201_probsfalse)", benchTime: "1x", gemmM: "201",
		kernTimeout: 2 * time.Minute,
		batches:     []int{1, 2}, runs: 2, batchRuns: 1, benchTO: 2 * time.Minute,
	}
)

func main() {
	out := flag.String("out", "gpu-report", "report folder (created; existing report files are replaced)")
	budget := flag.Duration("budget", 8*time.Minute, "time for the whole report, build included: steps are cut short to end within it")
	quick := flag.Bool("quick", false, "CI mode: gpu tests only, M=201 texel GEMMs, batches 1 and 2, few runs")
	check := flag.String("check", "", "only check that `DIR` holds a complete report that parses")
	vilt := flag.String("vilt", "", "vilt binary to use (default: build ./cmd/vilt into a temporary folder)")
	flag.Parse()
	if *check != "" {
		if err := checkReport(*check); err != nil {
			fmt.Fprintln(os.Stderr, "gpureport:", err)
			os.Exit(1)
		}
		fmt.Println("gpureport: report in", *check, "is complete")
		return
	}
	m := fullMode
	if *quick {
		m = quickMode
	}
	ctx, cancel := context.WithTimeout(context.Background(), *budget)
	defer cancel()
	rep, err := run(ctx, *out, *vilt, *quick, m, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpureport:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gpureport: %s/%s (%.0f s)\n", *out, fileMD, rep.Seconds)
	if !rep.OK {
		os.Exit(1)
	}
}

// Report is report.json.
type Report struct {
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Quick    bool      `json:"quick"`
	OK       bool      `json:"ok"` // tests passed and every step ran
	Host     Host      `json:"host"`
	Selected *Selected `json:"selected,omitempty"`
	Devices  []Device  `json:"devices"`

	Tests      *TestSummary   `json:"tests,omitempty"`
	Kernels    []KernelResult `json:"kernels"`
	Precisions []string       `json:"precisions"`
	Notes      []string       `json:"notes,omitempty"`
	Bench      []BenchRun     `json:"bench"`
	Steps      []Step         `json:"steps"`
}

// Host describes the machine.
type Host struct {
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	CPUs      int    `json:"cpus"`
}

// Selected is the device the tests and benchmarks ran on.
type Selected struct {
	Device
	Why string `json:"why"`
}

// Step is one command the report ran.
type Step struct {
	Name    string  `json:"name"`
	Command string  `json:"command"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// BenchRun is one `vilt bench --synthetic --json` run.
type BenchRun struct {
	Precision string          `json:"precision"`
	Batch     int             `json:"batch"`
	Error     string          `json:"error,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
}

// runner runs the report's commands with the selected device in the environment.
type runner struct {
	dir   string
	env   []string
	steps *[]Step
	log   io.Writer
}

// cmd runs one command with a timeout and returns its combined output.
func (r runner) cmd(ctx context.Context, name string, timeout time.Duration, env []string, args ...string) (string, error) {
	all, _, err := r.cmd2(ctx, name, timeout, env, args...)
	return all, err
}

// cmd2 runs one command with a timeout and returns its combined output and its stdout.
func (r runner) cmd2(parent context.Context, name string, timeout time.Duration, env []string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, args[0], args[1:]...)
	c.Env = append(append(os.Environ(), r.env...), env...)
	c.WaitDelay = 5 * time.Second
	var buf lockedBuffer
	var stdout bytes.Buffer
	c.Stdout, c.Stderr = io.MultiWriter(&buf, &stdout), &buf
	fmt.Fprintf(r.log, "gpureport: %s: %s\n", name, strings.Join(args, " "))
	t0 := time.Now()
	err := c.Run()
	st := Step{Name: name, Command: strings.TrimSpace(strings.Join(env, " ") + " " + strings.Join(args, " ")), Seconds: time.Since(t0).Seconds()}
	switch {
	case parent.Err() != nil:
		err = fmt.Errorf("stopped: the report's time budget ran out")
	case ctx.Err() == context.DeadlineExceeded:
		err = fmt.Errorf("timed out after %s", timeout)
	}
	if err != nil {
		st.Error = err.Error()
	}
	*r.steps = append(*r.steps, st)
	return buf.String(), stdout.String(), err
}

// lockedBuffer is the combined output of a command: its stdout and stderr are copied in by two
// goroutines (a plain bytes.Buffer would be raced, and its ReadFrom truncates what the other
// goroutine wrote meanwhile).
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func run(ctx context.Context, out, vilt string, quick bool, m mode, log io.Writer) (*Report, error) {
	t0 := time.Now()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	rep := &Report{Started: t0.UTC(), Quick: quick, Host: Host{GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU()}}
	r := runner{steps: &rep.Steps, log: log}
	if vilt == "" {
		tmp, err := os.MkdirTemp("", "gpureport")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		vilt = filepath.Join(tmp, "vilt")
		if o, err := r.cmd(ctx, "build", 5*time.Minute, nil, "go", "build", "-o", vilt, "./cmd/vilt"); err != nil {
			return nil, fmt.Errorf("building vilt: %v\n%s", err, o)
		}
	}

	// Devices, and the one to run on.
	devAll, devJSON, err := r.cmd2(ctx, "devices", time.Minute, nil, vilt, "devices", "--json")
	writeFile(out, fileDevices, devJSON)
	if err != nil {
		return nil, fmt.Errorf("vilt devices --json: %v\n%s", err, devAll)
	}
	devs, err := parseDevices([]byte(devJSON))
	if err != nil {
		return nil, err
	}
	rep.Devices = devs.Devices
	sel, why, err := selectDevice(devs.Devices)
	if err != nil {
		return nil, err
	}
	rep.Selected = &Selected{Device: sel, Why: why}
	if !gpuTypes[sel.Type] {
		rep.Notes = append(rep.Notes, fmt.Sprintf("No GPU-type Vulkan device here: the report ran on %s (%s), a %s device.", sel.Name, sel.Driver, sel.Type))
	}
	r.env = []string{"VILT_DEVICE=" + strconv.Itoa(sel.Index)}
	fmt.Fprintf(log, "gpureport: device [%d] %s (%s): %s\n", sel.Index, sel.Name, sel.Type, why)

	// Tests with validation on.
	testOut, testErr := r.cmd(ctx, "tests", m.testTimeout, []string{"VILT_VK_VALIDATE=1"}, append([]string{"go", "test", "-count=1"}, m.testPkgs...)...)
	writeFile(out, fileTests, testOut)
	ts := parseTestOutput(testOut)
	rep.Tests = &ts
	if quick {
		rep.Notes = append(rep.Notes, "Quick mode: tests of "+strings.Join(m.testPkgs, " ")+" only; kernels at M = "+m.gemmM+"; vilt bench at batch "+joinInts(m.batches)+" with few runs.")
	}

	// Kernel benchmarks.
	var kenv []string
	if m.gemmM != "" {
		kenv = append(kenv, "VILT_BENCH_GEMM_M="+m.gemmM)
	}
	kernOut, kernErr := r.cmd(ctx, "kernels", m.kernTimeout, kenv, "go", "test", "-run", "^$", "-bench", m.benchRE, "-benchtime", m.benchTime, "./graph/")
	if m.tilesTimeout > 0 && ctx.Err() == nil {
		tilesOut, _ := r.cmd(ctx, "tiles", m.tilesTimeout, kenv, "go", "test", "-run", "^$", "-bench", "^BenchmarkGEMMTiles$", "-benchtime", m.benchTime, "./graph/")
		kernOut += tilesOut
	}
	writeFile(out, fileKernels, kernOut)
	if rep.Kernels, err = parseBenchOutput(kernOut); err != nil {
		rep.Notes = append(rep.Notes, "kernel benchmark output: "+err.Error())
	}
	if precs := kernelPrecisions(rep.Kernels); len(precs) == 1 {
		rep.Notes = append(rep.Notes, "The kernel benchmarks have "+precs[0]+" variants only.")
	}

	// vilt bench per precision and batch.
	help, _ := r.cmd(ctx, "bench-help", time.Minute, nil, vilt, "bench", "-h")
	rep.Precisions = []string{""}
	if hasFlag(help, "precision") {
		rep.Precisions = []string{"fp32", "fp16"}
	} else {
		rep.Notes = append(rep.Notes, "This vilt has no --precision flag: vilt bench ran in fp32 only.")
	}
	var benchLog strings.Builder
	for _, p := range rep.Precisions {
		for _, b := range m.batches {
			args := []string{vilt, "bench", "--synthetic", "--json", "--batch", strconv.Itoa(b), "--batch-runs", strconv.Itoa(m.batchRuns)}
			runs := m.runs
			if b > 1 {
				runs = 1 // batch-1 latency comes from the batch-1 run
			}
			args = append(args, "--runs", strconv.Itoa(runs))
			if p != "" {
				args = append(args, "--precision", p)
			}
			o, so, err := r.cmd2(ctx, fmt.Sprintf("bench %s batch %d", precLabel(p), b), m.benchTO, nil, args...)
			fmt.Fprintf(&benchLog, "== %s\n%s\n", strings.Join(args[1:], " "), o)
			br := BenchRun{Precision: precLabel(p), Batch: b}
			if err != nil {
				br.Error = firstLine(o, err)
			} else if js, jerr := extractJSON(so); jerr != nil {
				br.Error = jerr.Error()
			} else {
				br.Result = js
			}
			rep.Bench = append(rep.Bench, br)
		}
	}
	writeFile(out, fileBench, benchLog.String())

	rep.Seconds = time.Since(t0).Seconds()
	rep.OK = testErr == nil && kernErr == nil && ts.OK()
	for _, b := range rep.Bench {
		if b.Error != "" && !(b.Precision == "fp16" && !gpuTypes[sel.Type]) {
			rep.OK = false // fp16 may be refused by a CPU driver; anything else is a failure
		}
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	writeFile(out, fileJSON, string(js)+"\n")
	writeFile(out, fileMD, renderMarkdown(rep))
	return rep, nil
}

func precLabel(p string) string {
	if p == "" {
		return "fp32"
	}
	return p
}

func kernelPrecisions(ks []KernelResult) []string {
	seen := map[string]bool{}
	var ps []string
	for _, k := range ks {
		if !seen[k.Precision] {
			seen[k.Precision] = true
			ps = append(ps, k.Precision)
		}
	}
	return ps
}

// extractJSON returns the JSON object in a command's output (stderr may hold progress or
// warnings around it).
func extractJSON(o string) (json.RawMessage, error) {
	i, j := strings.Index(o, "{"), strings.LastIndex(o, "}")
	if i < 0 || j < i {
		return nil, errors.New("no JSON object in the output")
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(o[i:j+1]), &v); err != nil {
		return nil, fmt.Errorf("bench output: %w", err)
	}
	return json.RawMessage(o[i : j+1]), nil
}

func firstLine(o string, err error) string {
	for _, l := range strings.Split(strings.TrimSpace(o), "\n") {
		if strings.Contains(l, "vilt:") || strings.Contains(strings.ToLower(l), "error") {
			return strings.TrimSpace(l)
		}
	}
	return err.Error()
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func writeFile(dir, name, s string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gpureport:", err)
	}
}
