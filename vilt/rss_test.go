package vilt

import "testing"

// peakRSS feeds `vilt bench`'s memory line; it must be a plausible byte count where the
// platform reports one (Linux, macOS, Windows).
func TestPeakRSS(t *testing.T) {
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	got := peakRSS()
	if got < 64<<20 || got > 1<<40 {
		t.Errorf("peakRSS() = %d bytes, want at least the 64 MiB just touched", got)
	}
	_ = buf[len(buf)-1]
}
