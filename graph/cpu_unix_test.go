//go:build unix

package graph

import "syscall"

// cpuSeconds is the process's user+system CPU time: on a shared 2-core machine it measures a
// kernel's work independently of other load (lavapipe runs shaders on the process's threads).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
