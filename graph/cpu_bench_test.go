package graph

import "testing"

// reportCPU adds "GFLOPS/cpu2": flops per CPU-second × 2 cores, the speed an idle 2-core
// machine would give (a load-independent figure for comparing kernels).
func reportCPU(b *testing.B, flops float64, cpu0 float64) {
	cpu := (cpuSeconds() - cpu0) / float64(b.N)
	if cpu > 0 {
		b.ReportMetric(2*flops/cpu/1e9, "GFLOPS/cpu2")
	}
}
