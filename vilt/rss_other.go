//go:build !unix

package vilt

func peakRSS() uint64 { return 0 }
