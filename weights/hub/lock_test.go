package hub

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// A second lockFile on the same path waits until the first is released (flock on Unix,
// LockFileEx on Windows; both also exclude Python's filelock).
func TestLockFileExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".locks", "models--org--m", "etag.lock")
	unlock, err := lockFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var second atomic.Bool
	done := make(chan error)
	go func() {
		unlock2, err := lockFile(p)
		if err == nil {
			second.Store(true)
			unlock2()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // a waiting goroutine must still be waiting
	if second.Load() {
		t.Fatal("second lock taken while the first is held")
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("second lock after release: %v", err)
	}
	if !second.Load() {
		t.Fatal("second lock not taken")
	}
	unlock, err = lockFile(p) // reusable after release (Windows deletes the file)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}
