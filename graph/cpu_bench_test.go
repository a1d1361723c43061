package graph

import (
	"syscall"
	"testing"
)

// cpuSeconds is the process's user+system CPU time: on a shared 2-core machine it measures a
// kernel's work independently of other load (lavapipe runs shaders on the process's threads).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// reportCPU adds "GFLOPS/cpu2": flops per CPU-second × 2 cores, the speed an idle 2-core
// machine would give (a load-independent figure for comparing kernels).
func reportCPU(b *testing.B, flops float64, cpu0 float64) {
	cpu := (cpuSeconds() - cpu0) / float64(b.N)
	if cpu > 0 {
		b.ReportMetric(2*flops/cpu/1e9, "GFLOPS/cpu2")
	}
}
