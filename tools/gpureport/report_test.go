package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFakeReport writes a complete report folder from made-up figures.
func writeFakeReport(t *testing.T) (string, *Report) {
	t.Helper()
	dir := t.TempDir()
	dev := Device{Index: 1, Name: "NVIDIA H200", Type: "discrete", Driver: "NVIDIA", Kernels: map[string]string{"linear layers": "shared-memory tiles"}}
	res := `{"device":"NVIDIA H200","batch":8,"latency_ms_median":12.5,"throughput_pairs_per_s":420,"per_pair_ms":2.38,"cpu_ms_per_pair":1.25,"batch_ops":[{"op":"linear_fc1_gelu","count":12,"ms":5,"percent":25}],"batch_kernel_sum_ms":20}`
	r := &Report{
		Started: time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC), Seconds: 300, OK: true,
		Selected: &Selected{Device: dev, Why: "first GPU-type device (discrete)"},
		Devices:  []Device{{Index: 0, Name: "llvmpipe", Type: "cpu"}, dev},
		Tests:    &TestSummary{Packages: []TestPackage{{Package: "gpu", OK: true, Seconds: 2}}},
		Kernels: []KernelResult{{Name: "GEMM/tiled/M201/768x2304_qkv", Kernel: "GEMM", Variant: "tiled", Precision: "fp32", M: 201, Shape: "768x2304_qkv", GFLOPS: 9000, MsPerOp: 0.08},
			{Name: "GEMMTiles/tiled-128x128x16x8x8/M201/768x2304_qkv", Kernel: "GEMMTiles", Variant: "tiled-128x128x16x8x8", Precision: "fp32", M: 201, Shape: "768x2304_qkv", GFLOPS: 9000, MsPerOp: 0.08},
			{Name: "GEMMTiles/tiled-128x64x32x8x8/M201/768x2304_qkv", Kernel: "GEMMTiles", Variant: "tiled-128x64x32x8x8", Precision: "fp32", M: 201, Shape: "768x2304_qkv", GFLOPS: 13500, MsPerOp: 0.05}},
		Bench: []BenchRun{
			{Precision: "fp32", Batch: 8, Result: json.RawMessage(res)},
			{Precision: "fp16", Batch: 8, Error: "vilt: fp16 needs storageBuffer16BitAccess"},
		},
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		fileJSON: string(js), fileMD: renderMarkdown(r), fileDevices: `{"devices":[{"index":0,"type":"cpu"}]}`,
		fileTests: "ok gpu 2s\n", fileKernels: "BenchmarkGEMM\n", fileBench: "== bench\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, r
}

func TestRenderMarkdown(t *testing.T) {
	_, r := writeFakeReport(t)
	md := renderMarkdown(r)
	for _, want := range []string{
		"| 1 | NVIDIA H200 | discrete | NVIDIA | **selected**: first GPU-type device (discrete) |",
		"| GEMM | tiled | fp32 | 201 | 768x2304_qkv | 0.08 | 9000.0 |",
		"| fp32 | 8 | 12.5 | 420.00 | 2.4 | 1.2 |",
		"error: vilt: fp16 needs storageBuffer16BitAccess",
		"linear_fc1_gelu 5.0 ms (25 %)",
		"| 201 | 768x2304_qkv | 128x64x32x8x8 | 13500.0 | 1.50 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

func TestCheckReport(t *testing.T) {
	dir, _ := writeFakeReport(t)
	if err := checkReport(dir); err != nil {
		t.Fatalf("complete report: %v", err)
	}
	for _, tc := range []struct {
		name    string
		corrupt func(dir string)
	}{
		{"missing bench.log", func(d string) { os.Remove(filepath.Join(d, fileBench)) }},
		{"empty report.md", func(d string) { os.WriteFile(filepath.Join(d, fileMD), nil, 0o644) }},
		{"truncated report.json", func(d string) { os.WriteFile(filepath.Join(d, fileJSON), []byte(`{"ok": tr`), 0o644) }},
		{"bad devices.json", func(d string) { os.WriteFile(filepath.Join(d, fileDevices), []byte(`[]`), 0o644) }},
		{"no kernels", func(d string) { rewriteReport(t, d, func(r *Report) { r.Kernels = nil }) }},
		{"no device", func(d string) { rewriteReport(t, d, func(r *Report) { r.Selected = nil }) }},
		{"every bench failed", func(d string) { rewriteReport(t, d, func(r *Report) { r.Bench = r.Bench[1:] }) }},
		{"bench without throughput", func(d string) {
			rewriteReport(t, d, func(r *Report) { r.Bench[0].Result = json.RawMessage(`{"batch":8,"latency_ms_median":1}`) })
		}},
		{"too many files", func(d string) {
			for _, n := range []string{"a", "b", "c"} {
				os.WriteFile(filepath.Join(d, n), []byte("x"), 0o644)
			}
		}},
	} {
		d, _ := writeFakeReport(t)
		tc.corrupt(d)
		if err := checkReport(d); err == nil {
			t.Errorf("%s: check passed", tc.name)
		}
	}
}

func rewriteReport(t *testing.T, dir string, f func(*Report)) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, fileJSON))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	f(&r)
	if b, err = json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fileJSON), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunnerOutput: a command's log holds both its streams, its stdout alone what it printed
// there, and a timeout is an error that says so.
func TestRunnerOutput(t *testing.T) {
	var steps []Step
	r := runner{steps: &steps, log: io.Discard, env: []string{"GPUREPORT_TEST=x"}}
	all, stdout, err := r.cmd2(context.Background(), "echo", time.Minute, nil, "sh", "-c", `echo "out $GPUREPORT_TEST"; sleep 0.1; echo err >&2`)
	if err != nil {
		t.Fatal(err)
	}
	if all != "out x\nerr\n" || stdout != "out x\n" {
		t.Errorf("combined %q, stdout %q", all, stdout)
	}
	if _, err := r.cmd(context.Background(), "sleep", 100*time.Millisecond, nil, "sleep", "5"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("timeout: %v", err)
	}
	if len(steps) != 2 || steps[1].Error == "" {
		t.Errorf("steps %+v", steps)
	}
}
