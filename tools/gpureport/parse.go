package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Device is the part of a `vilt devices --json` entry the report uses.
type Device struct {
	Index   int               `json:"index"`
	Name    string            `json:"name"`
	Type    string            `json:"type"`
	Driver  string            `json:"driver_name"`
	Kernels map[string]string `json:"kernels"`
}

// DevicesReport is `vilt devices --json`.
type DevicesReport struct {
	Loader          string   `json:"loader"`
	InstanceVersion string   `json:"instance_version"`
	Default         int      `json:"default"`
	Devices         []Device `json:"devices"`
}

// parseDevices reads `vilt devices --json`.
func parseDevices(b []byte) (DevicesReport, error) {
	var r DevicesReport
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("vilt devices --json: %w", err)
	}
	return r, nil
}

// gpuTypes are the Vulkan device types that are GPUs, in no order of preference: the first
// listed device of any of them wins.
var gpuTypes = map[string]bool{"discrete": true, "integrated": true, "virtual": true}

// selectDevice picks the device the report runs on: the first GPU-type device, else the first
// CPU-type one (a software driver such as lavapipe), else the first of any type. The note says
// which and why.
func selectDevice(devs []Device) (Device, string, error) {
	if len(devs) == 0 {
		return Device{}, "", fmt.Errorf("no Vulkan devices")
	}
	for _, d := range devs {
		if gpuTypes[d.Type] {
			return d, fmt.Sprintf("first GPU-type device (%s)", d.Type), nil
		}
	}
	for _, d := range devs {
		if d.Type == "cpu" {
			return d, "no GPU-type device: fell back to the CPU driver", nil
		}
	}
	return devs[0], fmt.Sprintf("no GPU- or CPU-type device: took the first (%s)", devs[0].Type), nil
}

// KernelResult is one `go test -bench` line of graph's GEMM/attention benchmarks.
type KernelResult struct {
	Name      string  `json:"name"`      // full benchmark name without the -procs suffix
	Kernel    string  `json:"kernel"`    // GEMM or Attention
	Variant   string  `json:"variant"`   // e.g. texel-sg (GEMM) or B8_S201_probsfalse (attention)
	Precision string  `json:"precision"` // fp16/fp32 when the name says so, else fp32
	M         int     `json:"m,omitempty"`
	Shape     string  `json:"shape,omitempty"`
	GFLOPS    float64 `json:"gflops"`
	MsPerOp   float64 `json:"ms_per_op"`
	// GFLOPSPerCPU is the benchmark's CPU-time-normalised figure, where it reports one (on
	// CPU drivers it is steadier than wall time on a shared machine).
	GFLOPSPerCPU float64 `json:"gflops_cpu,omitempty"`
}

var (
	benchLine  = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)
	mComponent = regexp.MustCompile(`^M(\d+)$`)
	precName   = regexp.MustCompile(`^(?i)(fp16|fp32|f16|f32|half|float)$`)
)

// parseBenchOutput reads `go test -bench` output and returns the benchmark lines that report
// GFLOPS, in order. Other lines (headers, PASS, logs) are skipped; a line that looks like a
// result but does not parse is an error.
func parseBenchOutput(out string) ([]KernelResult, error) {
	var res []KernelResult
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := KernelResult{Name: m[1], Precision: "fp32"}
		metrics := strings.Fields(m[3])
		if len(metrics)%2 != 0 {
			return nil, fmt.Errorf("benchmark line %q: odd metric list", line)
		}
		for i := 0; i < len(metrics); i += 2 {
			v, err := strconv.ParseFloat(metrics[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %s: %w", line, metrics[i+1], err)
			}
			switch metrics[i+1] {
			case "GFLOPS":
				r.GFLOPS = v
			case "ms/op":
				r.MsPerOp = v
			case "ns/op":
				if r.MsPerOp == 0 {
					r.MsPerOp = v / 1e6
				}
			default:
				if strings.HasPrefix(metrics[i+1], "GFLOPS/cpu") {
					r.GFLOPSPerCPU = v
				}
			}
		}
		parts := strings.Split(r.Name, "/")
		r.Kernel = parts[0]
		var rest []string
		for _, p := range parts[1:] {
			switch {
			case mComponent.MatchString(p):
				r.M, _ = strconv.Atoi(p[1:])
			case precName.MatchString(p):
				r.Precision = normPrecision(p)
			case strings.Contains(p, "x") && r.Shape == "" && len(rest) > 0 && strings.HasPrefix(r.Kernel, "GEMM"):
				r.Shape = p
			default:
				rest = append(rest, p)
			}
		}
		r.Variant = strings.Join(rest, "/")
		if r.GFLOPS == 0 && r.MsPerOp == 0 {
			continue // not a kernel benchmark
		}
		res = append(res, r)
	}
	return res, sc.Err()
}

func normPrecision(p string) string {
	switch strings.ToLower(p) {
	case "fp16", "f16", "half":
		return "fp16"
	}
	return "fp32"
}

// TestPackage is one package's line of `go test` output.
type TestPackage struct {
	Package string  `json:"package"`
	OK      bool    `json:"ok"`
	Seconds float64 `json:"seconds,omitempty"`
	Note    string  `json:"note,omitempty"` // "no test files", "build failed"
}

// TestSummary is what `go test` printed for a set of packages.
type TestSummary struct {
	Packages []TestPackage `json:"packages"`
	Failed   []string      `json:"failed_tests,omitempty"`
}

// OK reports whether every package passed and at least one ran.
func (s TestSummary) OK() bool {
	ran := false
	for _, p := range s.Packages {
		if !p.OK {
			return false
		}
		ran = ran || p.Note == ""
	}
	return ran && len(s.Failed) == 0
}

var (
	okLine     = regexp.MustCompile(`^ok\s+(\S+)\s+(?:(\d+(?:\.\d+)?)s|\(cached\))`)
	noTestLine = regexp.MustCompile(`^\?\s+(\S+)\s+\[no test files\]`)
	failLine   = regexp.MustCompile(`^FAIL\s+(\S+)\s+(?:(\d+(?:\.\d+)?)s|\[(.+)\])`)
	failTest   = regexp.MustCompile(`^\s*--- FAIL: (\S+)`)
)

// parseTestOutput reads plain `go test` output (not -json).
func parseTestOutput(out string) TestSummary {
	var s TestSummary
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := okLine.FindStringSubmatch(line); m != nil {
			sec, _ := strconv.ParseFloat(m[2], 64)
			s.Packages = append(s.Packages, TestPackage{Package: m[1], OK: true, Seconds: sec})
		} else if m := noTestLine.FindStringSubmatch(line); m != nil {
			s.Packages = append(s.Packages, TestPackage{Package: m[1], OK: true, Note: "no test files"})
		} else if m := failLine.FindStringSubmatch(line); m != nil {
			sec, _ := strconv.ParseFloat(m[2], 64)
			s.Packages = append(s.Packages, TestPackage{Package: m[1], Seconds: sec, Note: m[3]})
		} else if m := failTest.FindStringSubmatch(line); m != nil {
			s.Failed = append(s.Failed, m[1])
		}
	}
	return s
}

// hasFlag reports whether a command's -h output lists a flag (Go's flag package prints
// "  -name value" or "  --name" lines).
func hasFlag(help, name string) bool {
	re := regexp.MustCompile(`(?m)^\s*--?` + regexp.QuoteMeta(name) + `(\s|=|$)`)
	return re.MatchString(help)
}
