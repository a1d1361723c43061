package main

import (
	"encoding/json"
	"math"
	"runtime"
	"testing"

	"github.com/vilt-vk/vilt-vk/vilt"
)

// TestBenchAnyBatch: `vilt bench --json` on the demo model at batch sizes that are not powers
// of two reports the throughput, the per-pair time and the batch run's own per-op table.
func TestBenchAnyBatch(t *testing.T) {
	for _, batch := range []string{"1", "3"} {
		stdout, stderr, code := runVilt(t, []string{"VILT_VK_VALIDATE=1"}, "bench", "--model", "../../testdata/tiny-vilt-vqa",
			"--batch", batch, "--runs", "1", "--batch-runs", "1", "--json")
		if code != 0 {
			t.Fatalf("batch %s: exit %d: %s", batch, code, stderr)
		}
		var res vilt.BenchResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("batch %s: %v in %q", batch, err, stdout)
		}
		if res.Batch == 0 || res.ThroughputPairsPerS <= 0 || res.PerPairMs <= 0 {
			t.Fatalf("batch %s: %+v", batch, res)
		}
		if got := float64(res.Batch) * res.PerPairMs; math.Abs(got-res.BatchLatencyMsMedian) > 1e-6*res.BatchLatencyMsMedian {
			t.Errorf("batch %s: %d × per_pair_ms %.3f = %.3f, batch latency %.3f", batch, res.Batch, res.PerPairMs, got, res.BatchLatencyMsMedian)
		}
		if len(res.Ops) == 0 || len(res.BatchOps) == 0 || res.BatchKernelSumMs <= 0 {
			t.Fatalf("batch %s: op tables missing: %d batch-1 rows, %d batch rows", batch, len(res.Ops), len(res.BatchOps))
		}
		if runtime.GOOS == "linux" && (res.CPUMsPerForward <= 0 || res.CPUMsPerPair <= 0) {
			t.Errorf("batch %s: no CPU time: %.3f ms per forward, %.3f ms per pair", batch, res.CPUMsPerForward, res.CPUMsPerPair)
		}
		var gemms int
		for _, o := range res.BatchOps {
			if o.Op == "linear_qkv" {
				gemms = o.Count
			}
		}
		if gemms != 2 { // the demo model has 2 layers
			t.Errorf("batch %s: linear_qkv ran %d times in the batch profile, want 2", batch, gemms)
		}
	}
}
