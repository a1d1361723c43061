//go:build !unix && !windows

package vilt

func peakRSS() uint64 { return 0 }

func cpuSeconds() float64 { return 0 }
