package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestSelectDevice(t *testing.T) {
	lvp := Device{Index: 0, Name: "llvmpipe", Type: "cpu"}
	h200 := Device{Index: 1, Name: "NVIDIA H200", Type: "discrete"}
	igpu := Device{Index: 2, Name: "Intel UHD", Type: "integrated"}
	other := Device{Index: 3, Name: "odd", Type: "other"}
	for _, tc := range []struct {
		name    string
		devs    []Device
		want    int
		gpu     bool
		wantErr bool
	}{
		{"GPU after CPU driver", []Device{lvp, h200}, 1, true, false},
		{"first GPU-type wins", []Device{lvp, igpu, h200}, 2, true, false},
		{"virtual GPU", []Device{lvp, {Index: 5, Name: "virtio", Type: "virtual"}}, 5, true, false},
		{"CPU fallback", []Device{other, lvp}, 0, false, false},
		{"other only", []Device{other}, 3, false, false},
		{"none", nil, 0, false, true},
	} {
		d, why, err := selectDevice(tc.devs)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: err %v", tc.name, err)
		}
		if err != nil {
			continue
		}
		if d.Index != tc.want || gpuTypes[d.Type] != tc.gpu || why == "" {
			t.Errorf("%s: got [%d] %s (%q), want [%d]", tc.name, d.Index, d.Type, why, tc.want)
		}
	}
}

func TestParseDevices(t *testing.T) {
	js := `{"loader":"libvulkan.so.1","instance_version":"1.3.239","default":0,"devices":[
	  {"index":0,"name":"llvmpipe (LLVM 15.0.6, 256 bits)","type":"cpu","driver_name":"llvmpipe","limits":{"max_texel_buffer_elements":134217728},
	   "kernels":{"linear layers":"register tiles 8×12 groups"}},
	  {"index":1,"name":"NVIDIA H200","type":"discrete","driver_name":"NVIDIA"}]}`
	r, err := parseDevices([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Devices) != 2 || r.Devices[1].Type != "discrete" || r.Devices[0].Kernels["linear layers"] == "" {
		t.Fatalf("%+v", r)
	}
	if _, err := parseDevices([]byte(`{"devices": [`)); err == nil {
		t.Error("truncated JSON parsed")
	}
}

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/vilt-vk/vilt-vk/graph
cpu: Intel(R) Xeon(R) Processor
BenchmarkGEMM/texel-sg/M201/768x2304_qkv-2         	       5	  57466588 ns/op	        12.45 GFLOPS	        55.44 GFLOPS/cpu2	        57.44 ms/op
BenchmarkGEMM/tiled/fp16/M1608/3072x768_fc2         	       3	 302917026 ns/op	        33.52 GFLOPS	       302.9 ms/op
BenchmarkAttention/B8_S201_probsfalse-16   	       3	   1000000 ns/op	      520.5 GFLOPS	         1.000 ms/op
BenchmarkGEMMTiles/tiled-128x64x32x8x8/M1608/768x3072_fc1-16   	       3	   1000000 ns/op	      9100 GFLOPS	         1.000 ms/op
BenchmarkOther-2   	 1000	 1234 ns/op
--- BENCH: BenchmarkGEMM
    bench_test.go:10: some log line
PASS
ok  	github.com/vilt-vk/vilt-vk/graph	20.097s
`
	got, err := parseBenchOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []KernelResult{
		{Name: "GEMM/texel-sg/M201/768x2304_qkv", Kernel: "GEMM", Variant: "texel-sg", Precision: "fp32", M: 201, Shape: "768x2304_qkv", GFLOPS: 12.45, MsPerOp: 57.44, GFLOPSPerCPU: 55.44},
		{Name: "GEMM/tiled/fp16/M1608/3072x768_fc2", Kernel: "GEMM", Variant: "tiled", Precision: "fp16", M: 1608, Shape: "3072x768_fc2", GFLOPS: 33.52, MsPerOp: 302.9},
		{Name: "Attention/B8_S201_probsfalse", Kernel: "Attention", Variant: "B8_S201_probsfalse", Precision: "fp32", GFLOPS: 520.5, MsPerOp: 1},
		{Name: "GEMMTiles/tiled-128x64x32x8x8/M1608/768x3072_fc1", Kernel: "GEMMTiles", Variant: "tiled-128x64x32x8x8", Precision: "fp32", M: 1608, Shape: "768x3072_fc1", GFLOPS: 9100, MsPerOp: 1},
		{Name: "Other", Kernel: "Other", Precision: "fp32", MsPerOp: 0.001234},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if _, err := parseBenchOutput("BenchmarkGEMM/x-2   5   12 ns/op  abc GFLOPS\n"); err == nil {
		t.Error("a malformed metric parsed")
	}
	if r, err := parseBenchOutput("no benchmarks here\nFAIL\n"); err != nil || len(r) != 0 {
		t.Errorf("empty output: %v, %v", r, err)
	}
}

func TestParseTestOutput(t *testing.T) {
	out := `ok  	github.com/vilt-vk/vilt-vk/gpu	3.456s
?   	github.com/vilt-vk/vilt-vk/gpu/gputest	[no test files]
--- FAIL: TestGEMM (0.50s)
    --- FAIL: TestGEMM/texel (0.20s)
        gemm_test.go:55: max error 1e-2
FAIL
FAIL	github.com/vilt-vk/vilt-vk/graph	12.5s
FAIL	github.com/vilt-vk/vilt-vk/vilt [build failed]
ok  	github.com/vilt-vk/vilt-vk/weights	(cached)
`
	s := parseTestOutput(out)
	want := TestSummary{
		Packages: []TestPackage{
			{Package: "github.com/vilt-vk/vilt-vk/gpu", OK: true, Seconds: 3.456},
			{Package: "github.com/vilt-vk/vilt-vk/gpu/gputest", OK: true, Note: "no test files"},
			{Package: "github.com/vilt-vk/vilt-vk/graph", Seconds: 12.5},
			{Package: "github.com/vilt-vk/vilt-vk/vilt", Note: "build failed"},
			{Package: "github.com/vilt-vk/vilt-vk/weights", OK: true},
		},
		Failed: []string{"TestGEMM", "TestGEMM/texel"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got\n%+v\nwant\n%+v", s, want)
	}
	if s.OK() {
		t.Error("failing run reported OK")
	}
	pass := parseTestOutput("ok  \tgithub.com/vilt-vk/vilt-vk/gpu\t1.0s\n")
	if !pass.OK() {
		t.Error("passing run not OK")
	}
	if (TestSummary{}).OK() || parseTestOutput("?   \tx\t[no test files]\n").OK() {
		t.Error("a run with no tests reported OK")
	}
}

func TestHasFlag(t *testing.T) {
	help := `Usage of vilt bench:
  -attentions
    	every forward also returns its attentions
  -batch int
    	batch size (default 8)
  -precision string
    	fp32, fp16 or auto (default "auto")
`
	for _, tc := range []struct {
		name string
		want bool
	}{{"precision", true}, {"batch", true}, {"batch-runs", false}, {"prec", false}, {"attentions", true}} {
		if got := hasFlag(help, tc.name); got != tc.want {
			t.Errorf("hasFlag(%q) = %v", tc.name, got)
		}
	}
	if hasFlag("  -batch int\n  -json\n", "precision") {
		t.Error("found a flag that is not listed")
	}
}

func TestExtractJSON(t *testing.T) {
	if _, err := extractJSON("warning\n{\"batch\": 8, \"throughput_pairs_per_s\": 1.5}\n"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "no object", "{\"batch\": 8"} {
		if _, err := extractJSON(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParsers: no output of go test or vilt makes the parsers panic, and every kernel result
// they return came from a benchmark line.
func FuzzParsers(f *testing.F) {
	f.Add("BenchmarkGEMM/texel-sg/M201/768x2304_qkv-2  5  57466588 ns/op  12.45 GFLOPS  55.44 GFLOPS/cpu2  57.44 ms/op\n")
	f.Add("ok  \tgithub.com/vilt-vk/vilt-vk/gpu\t3.456s\n--- FAIL: TestX (0.1s)\nFAIL\tx [build failed]\n")
	f.Add(`{"devices":[{"index":0,"type":"cpu"}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		ks, err := parseBenchOutput(s)
		if err == nil && len(ks) > strings.Count(s, "Benchmark") {
			t.Fatalf("%d results from %d benchmark lines", len(ks), strings.Count(s, "Benchmark"))
		}
		parseTestOutput(s)
		hasFlag(s, "precision")
		if r, err := parseDevices([]byte(s)); err == nil {
			selectDevice(r.Devices)
		}
		extractJSON(s)
	})
}
